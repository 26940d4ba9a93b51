#!/usr/bin/env bash
# Mutation fuzzing of every reader of untrusted input (Sources/dcft-fuzz): RUNS executions per
# target (default 10,000), release build. A run that ends the fuzzer — a crash, or exit 3 when
# HDF5 did not return within DCFT_HDF5_READ_TIMEOUT (default here 5 s) on a corrupt file — keeps
# its input under bench/results/reliability/fuzz-inputs/ and the fuzzer continues with the next
# seed until the target has RUNS executions. Results: bench/results/reliability/fuzz.md.
#   bash bench/fuzz.sh                 # RUNS=10000
#   TARGETS="yaml tsv" RUNS=2000 bash bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10000}
targets=${TARGETS:-safetensors dataset checkpoint tokenizer-json vocab merges spm yaml tsv jsonl}
export DCFT_HDF5_READ_TIMEOUT=${DCFT_HDF5_READ_TIMEOUT:-5}
swift build -c release --product dcft-fuzz >/dev/null
fuzz=.build/release/dcft-fuzz; keep=bench/results/reliability/fuzz-inputs; mkdir -p "$keep"
out=bench/results/reliability/fuzz.md
{
  echo "# Fuzzing the readers"
  echo
  echo "Made by \`bash bench/fuzz.sh\` (RUNS=$runs) on $(date -u +%Y-%m-%d), release build. Each execution: 1–4 seeded mutations"
  echo "of a valid file, fed to the reader; it must throw dcft's error or accept a valid object."
  echo
  echo "| target | executions | rejected with an error | accepted and valid | crashes | HDF5 hangs (bounded: exit 3) | invalid accepted | seconds |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$out"
for t in $targets; do
  done_runs=0 rejected=0 accepted=0 crashes=0 hangs=0 invalid=0 seed=1 start=$(date +%s.%N)
  while [ "$done_runs" -lt "$runs" ]; do
    left=$(( runs - done_runs )); crashdir=$(mktemp -d)
    set +e; line=$("$fuzz" "$t" "$left" "$seed" "$crashdir" 2>"$crashdir/stderr" | tail -1); rc=$?; set -e
    if [ "$rc" = 0 ]; then
      n=$(echo "$line" | grep -o '[0-9]* runs' | grep -o '[0-9]*'); done_runs=$(( done_runs + n ))
      rejected=$(( rejected + $(echo "$line" | grep -o '[0-9]* rejected' | grep -o '[0-9]*') ))
      accepted=$(( accepted + $(echo "$line" | grep -o '[0-9]* accepted' | grep -o '[0-9]*') ))
    else
      # The fuzzer stopped early: count the executions it reached from its input files? It does not
      # report them, so count one (the failing input) and move on with the next seed.
      done_runs=$(( done_runs + 1 ))
      if ls "$crashdir"/invalid-* >/dev/null 2>&1; then :   # an invalid object accepted: counted below, not a crash
      elif [ -f "$crashdir/current-$t" ]; then
        if [ "$rc" = 3 ] && grep -q "HDF5 did not return" "$crashdir/stderr"; then hangs=$(( hangs + 1 )); kind=hdf5-hang
        else crashes=$(( crashes + 1 )); kind=crash; fi
        cp "$crashdir/current-$t" "$keep/$t-$kind-seed$seed"
      fi
      ls "$crashdir"/invalid-* >/dev/null 2>&1 && { invalid=$(( invalid + 1 )); cp "$crashdir"/invalid-* "$keep/"; }
    fi
    rm -rf "$crashdir"; seed=$(( seed + 1 ))
  done
  printf '| %s | %d | %d | %d | %d | %d | %d | %.0f |\n' "$t" "$done_runs" "$rejected" "$accepted" "$crashes" "$hangs" "$invalid" \
    "$(python3 -c "print($(date +%s.%N) - $start)")" >> "$out"
done
cat "$out"
