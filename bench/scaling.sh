#!/usr/bin/env bash
# Scaling study: dcft bench at np = 1, 2, 4 with the same global batch (32 × seq 128), threads
# per rank = max(1, cores / np) (oversubscribed and unbound past the core count), for DCFT d=8,
# LoRA r=8 and full fine-tuning. Writes bench/results/scaling.md (table) and scaling.svg
# (throughput and communication share), and prints the table.
#   bash bench/scaling.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-4}
bash launch/fetch-model.sh >/dev/null
swift build -c release --product dcft >/dev/null
mkdir -p bench/results
out=bench/results/scaling.tsv
printf 'adapter\tnp\tthreads\tms_step\ttokens_s\tallreduce_ms\tallreduce_share\tbytes\n' > "$out"
cores=$(nproc)
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
for adapter in dcft lora full; do
  for np in 1 2 4; do
    threads=$(( cores / np > 0 ? cores / np : 1 ))
    bind=(--bind-to core --map-by "slot:PE=$threads"); [ $(( np * threads )) -gt "$cores" ] && bind=(--bind-to none)
    [ "$np" -gt "$cores" ] && bind=(--bind-to none --oversubscribe)
    r=$(mpirun "${root[@]}" -np "$np" "${bind[@]}" -x OPENBLAS_NUM_THREADS=1 .build/release/dcft bench \
        --batch $(( 32 / np )) --seq 128 --threads "$threads" --steps "$steps" --adapter "$adapter" --set adapter.lora_rank=8)
    ms=$(echo "$r" | awk '/^step: median/ {print $3}')
    tps=$(echo "$r" | awk '/^throughput/ {print $(NF-3)}')
    ar=$(echo "$r" | awk '/^allreduce: median/ {print $3}')
    share=$(echo "$r" | awk -F'[(%]' '/^allreduce: median/ {print $2}')
    bytes=$(echo "$r" | awk -F'allreduce ' '/^ranks/ {split($2, a, " "); print a[1]}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$adapter" "$np" "$threads" "$ms" "$tps" "$ar" "$share" "$bytes" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import csv, sys, pathlib
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
md = ["| adapter | ranks × threads | ms/step | tokens/s | allreduce ms | share of step | bytes/step |", "|---|---|---|---|---|---|---|"]
for r in rows:
    md.append(f"| {r['adapter']} | {r['np']} × {r['threads']} | {float(r['ms_step']):.0f} | {float(r['tokens_s']):.0f} | {float(r['allreduce_ms']):.1f} | {r['allreduce_share']}% | {r['bytes']} |")
pathlib.Path("bench/results/scaling.md").write_text("\n".join(md) + "\n")
print("\n".join(md))
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
smax = max(max(float(r["allreduce_share"]) for r in rows) * 1.1, 1)
svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W + 90}" height="{H}" font-family="sans-serif">'
svg += panel(0, "tokens_s", "throughput (tokens/s, global batch 32 x 128)", tmax)
svg += panel(W, "allreduce_share", "share of the step in allreduce (%)", smax)
for i, (a, c) in enumerate(colors.items()):
    svg += f'<text x="{2 * W + 4}" y="{pad + 14 * (i + 1)}" font-size="11" fill="{c}">{a}</text>'
pathlib.Path("bench/results/scaling.svg").write_text(svg + "</svg>\n")
print("wrote bench/results/scaling.md and bench/results/scaling.svg")
PY
