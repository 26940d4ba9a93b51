#!/usr/bin/env bash
# Ranks × threads for one node: the rule the launchers use (docs/PERFORMANCE.md, "Running on
# big nodes"). Sourced by local.sh, hostfile.sh and slurm.sbatch; run directly it prints
# "RANKS THREADS" for a core count:
#
#   bash launch/layout.sh CORES [peft|full]      e.g. 16 peft → "16 1", 16 full → "4 4"
#
# The rule, from measurements (a 16-core Sapphire Rapids node and this 2-core machine):
# - PEFT (DCFT, LoRA, head only): one rank per core, one thread each. Ranks beat threads: a
#   rank's small products (attention tiles, adapter kernels, LayerNorm) do not split well across
#   threads, and the allreduce is tiny (624 KB for DCFT on MiniLM).
# - Full fine-tuning: one rank per 4 cores, 4 threads each (at least one rank): every rank
#   allreduces every weight's gradient (91 MB on MiniLM, 440 MB on BERT-base) and holds its
#   AdamW state, so fewer, wider ranks win (16 cores: 4 × 4 686 ms vs 1 × 16 732 ms per step).
# THREADS or RANKS in the environment override the rule.

# dcft_layout CORES MODE → sets DCFT_RANKS and DCFT_THREADS.
dcft_layout() {
  local cores=$1 mode=${2:-peft} per=1
  [ "$mode" = full ] && per=4
  local ranks=$(( cores / per )); [ "$ranks" -ge 1 ] || ranks=1
  DCFT_RANKS=${RANKS:-$ranks}
  DCFT_THREADS=${THREADS:-$(( cores / DCFT_RANKS > 0 ? cores / DCFT_RANKS : 1 ))}
}

# dcft_mode CONFIG [dcft train options] → "full" when the config or a --set turns on full
# fine-tuning, else "peft".
dcft_mode() {
  local config=$1; shift
  if grep -Eq '^[[:space:]]*full_fine_tuning:[[:space:]]*true' "$config" 2>/dev/null \
     || printf '%s\n' "$@" | grep -q '^adapter.full_fine_tuning=true$'; then echo full; else echo peft; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  dcft_layout "${1:?usage: launch/layout.sh CORES [peft|full]}" "${2:-peft}"
  echo "$DCFT_RANKS $DCFT_THREADS"
fi
