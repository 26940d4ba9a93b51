#!/usr/bin/env bash
# Scaling study: dcft bench at np = 1, 2, 4 with the same global batch (32 × seq 128), threads
# per rank = max(1, cores / np) (oversubscribed and unbound past the core count), for DCFT d=8,
# LoRA r=8 and full fine-tuning. Writes bench/results/scaling.tsv and scaling.md (table) and
# scaling.svg (throughput; the allreduce's transfer share of the step; compute imbalance between
# ranks, which shows as wait in the allreduce and is kept apart from the network), and prints the table.
#   bash bench/scaling.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-4}
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
mkdir -p bench/results
out=bench/results/scaling.tsv
printf 'adapter\tnp\tthreads\tms_step\ttokens_s\tallreduce_ms\ttransfer_ms\ttransfer_share\twait_ms\twait_max_ms\tcompute_min_ms\tcompute_median_ms\tcompute_max_ms\tbytes\n' > "$out"
cores=$(nproc)
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
for adapter in dcft lora full; do
  for np in 1 2 4; do
    threads=$(( cores / np > 0 ? cores / np : 1 ))
    bind=(--bind-to core --map-by "slot:PE=$threads"); [ $(( np * threads )) -gt "$cores" ] && bind=(--bind-to none)
    [ "$np" -gt "$cores" ] && bind=(--bind-to none --oversubscribe)
    mpirun "${root[@]}" -np "$np" "${bind[@]}" -x OPENBLAS_NUM_THREADS=1 .build/release/dcft bench \
        --batch $(( 32 / np )) --seq 128 --threads "$threads" --steps "$steps" --adapter "$adapter" --set adapter.lora_rank=8 \
      | python3 bench/parse_bench.py --prefix "$adapter" "$np" "$threads" -- ms_step tokens_s allreduce_ms transfer_ms \
          transfer_share wait_ms wait_max_ms compute_min_ms compute_median_ms compute_max_ms bytes | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import csv, sys, pathlib
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
md = ["| adapter | ranks × threads | ms/step | tokens/s | transfer ms | transfer share | wait ms (rank 0 / longest) | compute ms min / median / max | bytes/step |",
      "|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    md.append(f"| {r['adapter']} | {r['np']} × {r['threads']} | {float(r['ms_step']):.0f} | {float(r['tokens_s']):.0f} | "
              f"{float(r['transfer_ms']):.2f} | {r['transfer_share']}% | {float(r['wait_ms']):.1f} / {float(r['wait_max_ms']):.1f} | "
              f"{float(r['compute_min_ms']):.0f} / {float(r['compute_median_ms']):.0f} / {float(r['compute_max_ms']):.0f} | {r['bytes']} |")
pathlib.Path("bench/results/scaling.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
for r in rows:   # imbalance: how much longer the slowest rank computes than the fastest
    r["imbalance"] = str(100 * (float(r["compute_max_ms"]) / max(float(r["compute_min_ms"]), 1e-9) - 1))
W, H, pad = 360, 240, 40
colors = {"dcft": "#1f77b4", "lora": "#2ca02c", "full": "#d62728"}
def panel(x0, key, title, ymax):
    s = f'<text x="{x0 + pad}" y="20" font-size="13">{title}</text><rect x="{x0 + pad}" y="{pad}" width="{W - 2 * pad}" height="{H - 2 * pad}" fill="none" stroke="#999"/>'
    for i, npv in enumerate([1, 2, 4]):
        s += f'<text x="{x0 + pad + i * (W - 2 * pad) / 2 - 4}" y="{H - pad + 14}" font-size="10">np {npv}</text>'
    s += f'<text x="{x0 + 2}" y="{pad + 4}" font-size="10">{ymax:.0f}</text>'
    for a, c in colors.items():
        pts = [(i, float(r[key])) for i, r in enumerate(x for x in rows if x["adapter"] == a)]
        p = " ".join(f"{x0 + pad + i * (W - 2 * pad) / 2:.1f},{H - pad - v / ymax * (H - 2 * pad):.1f}" for i, v in pts)
        s += f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"/>'
    return s
tmax = max(float(r["tokens_s"]) for r in rows) * 1.1
smax = max(max(float(r["transfer_share"]) for r in rows) * 1.1, 1)
imax = max(max(float(r["imbalance"]) for r in rows) * 1.1, 1)
svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * W + 90}" height="{H}" font-family="sans-serif">'
svg += panel(0, "tokens_s", "throughput (tokens/s, global batch 32 x 128)", tmax)
svg += panel(W, "transfer_share", "allreduce transfer, % of the step", smax)
svg += panel(2 * W, "imbalance", "compute imbalance: slowest/fastest rank - 1 (%)", imax)
for i, (a, c) in enumerate(colors.items()):
    svg += f'<text x="{3 * W + 4}" y="{pad + 14 * (i + 1)}" font-size="11" fill="{c}">{a}</text>'
pathlib.Path("bench/results/scaling.svg").write_text(svg + "</svg>\n")
print("wrote bench/results/scaling.md and bench/results/scaling.svg")
PY
