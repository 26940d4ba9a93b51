#!/usr/bin/env bash
# `dcft prepare` at scale (docs/PERFORMANCE.md, "Tokenization at scale"): the MNLI stand-in
# (scripts/make_glue_standin.py) at 40k, 400k and 4M training pairs, max length 256, both
# cores; the train split alone (dev sets stay at MNLI's size), so the row isolates the dataset's
# size: wall time, examples/s, peak RSS (/usr/bin/time) and disk size. Peak RSS must not grow
# with the dataset: prepare streams file → tokenize → shard, one shard in memory.
#
#   bash bench/prepare_scale.sh            # writes bench/results/prepare_scale.tsv and .md
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results; mkdir -p "$out" work-data
bash launch/fetch-model.sh >/dev/null
swift build -c release >/dev/null
tsv=$out/prepare_scale.tsv
printf 'train_pairs\tsource_mb\tseconds\texamples_per_s\tpeak_rss_mb\tdisk_mb\tshards\n' > "$tsv"
for scale in 0.1 1 10; do
  data=work-data/standin-x$scale
  [ -f "$data/MNLI/train.tsv" ] || python3 scripts/make_glue_standin.py --out "$data" --scale "$scale" --tasks mnli 2>/dev/null
  rm -rf "$data/prepared" "$data/train-only"; mkdir -p "$data/train-only"
  ln -s "$PWD/$data/MNLI/train.tsv" "$data/train-only/train.tsv"
  /usr/bin/time -v .build/release/dcft prepare --task mnli --data "$data/train-only" --model models/all-MiniLM-L6-v2 \
    --out "$data/prepared" --max-length 256 > "$data/prepare.out" 2> "$data/prepare.time"
  python3 - "$data" "$tsv" <<'PY'
import re, sys, pathlib
data, tsv = sys.argv[1:]
out = open(f"{data}/prepare.out").read(); tm = open(f"{data}/prepare.time").read()
m = re.search(r"mnli train: (\d+) examples.*?, ([\d.]+) s \((\d+) examples/s\)", out)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tm).group(1)) / 1024
disk = sum(f.stat().st_size for f in pathlib.Path(f"{data}/prepared/train").glob("*.h5")) / 2**20
shards = len(list(pathlib.Path(f"{data}/prepared/train").glob("*.h5")))
src = pathlib.Path(f"{data}/MNLI/train.tsv").stat().st_size / 2**20
row = [m.group(1), f"{src:.0f}", m.group(2), m.group(3), f"{rss:.0f}", f"{disk:.0f}", str(shards)]
open(tsv, "a").write("\t".join(row) + "\n"); print("\t".join(row))
PY
done
python3 - "$tsv" > "$out/prepare_scale.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("# dcft prepare at scale (MNLI stand-in train split, max length 256, MiniLM tokenizer)\n")
print("Made by `bash bench/prepare_scale.sh`.\n")
print("| train pairs | source TSV | wall s | examples/s | peak RSS | dataset on disk | shards |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {int(r['train_pairs']):,} | {r['source_mb']} MB | {r['seconds']} | {int(r['examples_per_s']):,} | {r['peak_rss_mb']} MB | {r['disk_mb']} MB | {r['shards']} |")
PY
cat "$out/prepare_scale.md"
