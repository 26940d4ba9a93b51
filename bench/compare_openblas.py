#!/usr/bin/env python3
"""sgemm of Debian's OpenBLAS (the one dcft links, 0.3.21) against a newer OpenBLAS from PyPI
(scipy-openblas32, whose symbols carry a `scipy_` prefix, so both load in one process), on the
products of a dcft training step (MiniLM-L6 shape, batch 32 × 128 = 4096 rows), one thread,
alternating the libraries; best of `--reps` repetitions of at least 0.5 s each. Each library's
result is checked against a float64 product first.

    pip download --no-deps -d /tmp/sob scipy-openblas32 && unzip -o -q /tmp/sob/*.whl -d /tmp/sob/x
    python3 bench/compare_openblas.py /tmp/sob/x/scipy_openblas32/lib/libscipy_openblas.so

OPENBLAS_CORETYPE applies to both libraries: run it once as the environment is, and once with
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` to let each library pick its own kernels.
"""
import argparse, ctypes, os, time
import numpy as np

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
SHAPES = [  # (m, n, k, transB): y = x·Wᵀ forward products and a dx = dy·W backward product
    ("q/k/v/o  4096×384 · 384×384ᵀ", 4096, 384, 384, True),
    ("ffn in   4096×384 · 1536×384ᵀ", 4096, 1536, 384, True),
    ("ffn out  4096×1536 · 384×1536ᵀ", 4096, 384, 1536, True),
    ("dx ffn   4096×1536 · 1536×384", 4096, 384, 1536, False),
]


class Lib:
    def __init__(self, name, path, prefix):
        self.name, self.lib, p = name, ctypes.CDLL(path), prefix
        self.sgemm = getattr(self.lib, p + "cblas_sgemm")
        self.sgemm.restype = None
        self.sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                                    ctypes.c_int, ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
        getattr(self.lib, p + "openblas_set_num_threads")(1)
        for f in ("openblas_get_corename", "openblas_get_config"):
            getattr(self.lib, p + f).restype = ctypes.c_char_p
        self.core = getattr(self.lib, p + "openblas_get_corename")().decode()
        self.config = getattr(self.lib, p + "openblas_get_config")().decode()

    def run(self, a, b, c, m, n, k, tb):
        self.sgemm(ROW_MAJOR, NO_TRANS, TRANS if tb else NO_TRANS, m, n, k, 1.0, a.ctypes.data, k,
                   b.ctypes.data, k if tb else n, 0.0, c.ctypes.data, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("newer", help="path of libscipy_openblas.so")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    libs = [Lib("Debian", "libopenblas.so.0", ""), Lib("PyPI", args.newer, "scipy_")]
    print("OPENBLAS_CORETYPE =", os.environ.get("OPENBLAS_CORETYPE", "(unset)"))
    for lib in libs:
        print(f"{lib.name}: {lib.config.split(' ')[1]}, {lib.core} kernels")
    rng = np.random.default_rng(0)
    total = {lib.name: 0.0 for lib in libs}
    for label, m, n, k, tb in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        ref = a.astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        best = {}
        for lib in libs:
            c = np.zeros((m, n), dtype=np.float32)
            lib.run(a, b, c, m, n, k, tb)
            err = np.abs(c - ref).max() / np.abs(ref).max()
            assert err < 1e-5, f"{lib.name} sgemm wrong on {label}: relative error {err}"
        for _ in range(args.reps):
            for lib in libs:   # alternate, so noise hits both
                c = np.zeros((m, n), dtype=np.float32)
                t0, calls = time.perf_counter(), 0
                while time.perf_counter() - t0 < 0.5:
                    lib.run(a, b, c, m, n, k, tb)
                    calls += 1
                rate = 2 * m * n * k * calls / (time.perf_counter() - t0) / 1e9
                best[lib.name] = max(best.get(lib.name, 0), rate)
        for lib in libs:
            total[lib.name] += 2 * m * n * k / best[lib.name] / 1e9
        print(f"{label}: " + ", ".join(f"{l.name} {best[l.name]:.1f} GFLOP/s" for l in libs)
              + f", PyPI/Debian {best['PyPI'] / best['Debian']:.2f}")
    print("time for the four products: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in total.items())
          + f", Debian/PyPI {total['Debian'] / total['PyPI']:.2f}")


if __name__ == "__main__":
    main()
