#!/usr/bin/env python3
"""Reads `dcft bench` output on stdin and prints the requested figures, tab-separated, after
the given prefix columns — the one parser bench/scaling.sh and bench/cluster_study.sh share.

    dcft bench … | python3 bench/parse_bench.py --prefix dcft 2 1 -- ms_step tokens_s transfer_ms

Fields: ms_step tokens_s compute_min_ms compute_median_ms compute_max_ms update_ms allreduce_ms
transfer_ms transfer_share wait_ms wait_max_ms bytes. Exits non-zero, showing the output, when a
line is missing.
"""
import re, sys

PATTERNS = {
    "step": r"step: median ([0-9.]+) ms",
    "tokens": r"([0-9.]+) tokens/s in all",
    "compute": r"compute per rank: min ([0-9.]+) / median ([0-9.]+) / max ([0-9.]+) ms; update ([0-9.]+) ms",
    "allreduce": r"allreduce: median ([0-9.]+) ms per step on rank 0 = transfer ([0-9.]+) ms \(([0-9.]+)% of the step\) "
                 r"\+ wait ([0-9.]+) ms \(longest wait of any rank ([0-9.]+) ms\)",
    "bytes": r"allreduce ([0-9]+) bytes",
}
FIELDS = {"ms_step": ("step", 0), "tokens_s": ("tokens", 0), "compute_min_ms": ("compute", 0), "compute_median_ms": ("compute", 1),
          "compute_max_ms": ("compute", 2), "update_ms": ("compute", 3), "allreduce_ms": ("allreduce", 0),
          "transfer_ms": ("allreduce", 1), "transfer_share": ("allreduce", 2), "wait_ms": ("allreduce", 3),
          "wait_max_ms": ("allreduce", 4), "bytes": ("bytes", 0)}


def main():
    args = sys.argv[1:]
    prefix = []
    if args[:1] == ["--prefix"]:
        cut = args.index("--")
        prefix, args = args[1:cut], args[cut + 1:]
    text = sys.stdin.read()
    out = list(prefix)
    for field in args:
        key, i = FIELDS[field]
        m = re.search(PATTERNS[key], text)
        if not m:
            sys.exit(f"parse_bench.py: no '{key}' line in the bench output:\n{text}")
        out.append(m.group(i + 1))
    print("\t".join(out))


if __name__ == "__main__":
    main()
