#!/usr/bin/env bash
# Installs, idempotently, every system and Python package dcft needs on Debian/Ubuntu,
# then prints the versions found. Safe to run again: it installs only what is missing.
#
#   bash launch/install-deps.sh            # system packages (+ Python test tools with --python)
#   bash launch/install-deps.sh --python   # also what the tests need: the Python references they compare
#                                          # with (numpy, h5py, scipy, scikit-learn, safetensors, torch CPU,
#                                          # transformers) and Slurm with munge (the simulated cluster's
#                                          # scheduler, launch/slurm-cluster.sh)
#
# Without root (a cluster login node), it installs nothing: it checks that pkg-config finds
# MPI, OpenBLAS and HDF5 (e.g. after `module load openmpi hdf5 openblas`, or with
# PKG_CONFIG_PATH pointing at their lib/pkgconfig folders) and says what is missing.
set -euo pipefail

APT_PACKAGES=(libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev pkg-config iproute2)
# module:pip-spec. torch is the CPU build (a bare `pip install torch` pulls gigabytes of CUDA).
PY_PACKAGES=(numpy:numpy h5py:h5py scipy:scipy sklearn:scikit-learn safetensors:safetensors
             torch:torch==2.13.0+cpu transformers:transformers tokenizers:tokenizers
             sentencepiece:sentencepiece google.protobuf:protobuf)
want_python=0
for a in "$@"; do [ "$a" = "--python" ] && want_python=1; done
[ "$want_python" = 1 ] && APT_PACKAGES+=(slurm-wlm munge)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-deps: not root (or no apt-get); not installing: ${missing[*]}" >&2
    echo "install-deps: make MPI, OpenBLAS and HDF5 visible to pkg-config instead (see README)." >&2
  fi
fi

if [ "$want_python" = 1 ]; then
  pymissing=()
  for entry in "${PY_PACKAGES[@]}"; do
    mod=${entry%%:*}; spec=${entry#*:}
    python3 -c "import $mod" 2>/dev/null || pymissing+=("$spec")
  done
  if [ "${#pymissing[@]}" -gt 0 ]; then
    echo "install-deps: pip installing ${pymissing[*]}"
    python3 -m pip install -q --disable-pip-version-check "${pymissing[@]}" 2>&1 | grep -v "Running pip as the 'root'" || true
  fi
fi

# Report what the build will use; fail clearly if pkg-config cannot find a library.
status=0
for pc in ompi-c openblas hdf5; do
  if v=$(pkg-config --modversion "$pc" 2>/dev/null); then
    printf 'install-deps: %-8s %s\n' "$pc" "$v"
  else
    echo "install-deps: pkg-config cannot find '$pc' (set PKG_CONFIG_PATH; see README)" >&2
    status=1
  fi
done
command -v mpirun >/dev/null && echo "install-deps: mpirun   $(mpirun --version 2>/dev/null | head -1)" \
  || { echo "install-deps: mpirun not found on PATH" >&2; status=1; }
command -v swift >/dev/null && echo "install-deps: swift    $(swift --version 2>/dev/null | head -1)" \
  || { echo "install-deps: swift not found on PATH" >&2; status=1; }
exit $status
