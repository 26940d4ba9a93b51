#!/usr/bin/env python3
"""Safetensors fixtures and reference helpers for Tests/ModelTests/SafeTensorsTests.swift.

Regenerating the committed fixtures
-----------------------------------
    pip install torch safetensors numpy     # CPU torch is enough
    python3 scripts/make_safetensors_fixtures.py            # from the package root

Generated with safetensors 0.8.0, torch 2.13.0+cpu, numpy 2.4.6. The output is
deterministic (fixed seed; see save_with_sorted_metadata), so regenerating with those versions leaves git clean. It writes
into Tests/ModelTests/Fixtures/ (about 20 KB in total):

  dtypes.safetensors         the file the Swift reader is tested on: F32, F16 (signed zeros,
                             subnormals, max 65504, +-inf, NaN), BF16 (same edge cases), F64,
                             I64 `position_ids` [1, 8] and other I64 values, I32, a 0-d
                             scalar, an empty [0, 4] tensor, a [2, 3] matrix, and
                             __metadata__ with escapes and non-ASCII text.
  dtypes_as_f32.safetensors  the same names, every float tensor converted by torch to F32
                             (`t.float()`), integer tensors as I64: the exact values the Swift
                             conversions must reproduce, bit for bit.
  rounding.safetensors       `source` (F32: random magnitudes, exact ties, neighbours of ties,
                             overflow thresholds, subnormal-range values) and torch's
                             round-to-nearest-even conversions `to_f16` (F16) and `to_bf16`
                             (BF16) of it, for testing the Swift encoders.

Helper commands the Swift tests run (only when `import safetensors, torch` works):

  dump PATH         print JSON {"metadata": {...}, "tensors": {name: {"dtype", "shape",
                    "values"}}} read with both safetensors.torch.load_file and safe_open
                    (they must agree); float values are the bit patterns of t.float() as
                    uint32, integer values are ints.
  resave IN OUT     load IN with load_file/safe_open and write it again with save_file
                    (same metadata): lets a test compare the Swift writer byte for byte.
  summary PATH      per tensor: shape, bit patterns of the first and last element (as F32)
                    and the float64 sum, as JSON (checks a real checkpoint).
  bench PATH [N]    time safetensors.torch.load_file(PATH) N times (default 5), print ms.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "ModelTests", "Fixtures")


def from_bits16(bits, dtype):
    """A 1-D torch tensor of `dtype` (float16/bfloat16) with exactly these bit patterns."""
    a = np.array(bits, dtype=np.uint16).view(np.int16)
    return torch.from_numpy(a.copy()).view(dtype)


def dtypes_file():
    f16_bits = [
        0x0000, 0x8000,          # +0, -0
        0x0001, 0x8001,          # +-2^-24, smallest subnormal
        0x03FF, 0x0200,          # largest subnormal, 2^-15
        0x0400,                  # smallest normal 2^-14
        0x3C00, 0xBC00,          # +-1
        0x3555,                  # 0.33325195 (1/3 rounded)
        0x4248,                  # 3.140625
        0x7BFF, 0xFBFF,          # +-65504
        0x7C00, 0xFC00,          # +-inf
        0x7E00,                  # NaN
    ]
    bf16_bits = [
        0x0000, 0x8000,          # +-0
        0x0001,                  # smallest subnormal (2^-133)
        0x0080,                  # smallest normal 2^-126
        0x3F80, 0xC020,          # 1, -2.5
        0x4049,                  # 3.140625
        0x3EAB,                  # 0.333984375
        0x7F7F, 0xFF7F,          # +-3.3895314e38 (max)
        0x7F80, 0xFF80,          # +-inf
        0x7FC0,                  # NaN
    ]
    f32 = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.14159265, 1e-45, 1.17549435e-38,
                        3.40282347e38, float("inf"), float("-inf"), float("nan")],
                       dtype=torch.float32)
    return {
        "f32": f32,
        "f16": from_bits16(f16_bits, torch.float16).reshape(4, 4),
        "bf16": from_bits16(bf16_bits, torch.bfloat16),
        "f64": torch.tensor([0.1, -1e300, 1e-50, 2.5, 65504.0], dtype=torch.float64),
        "matrix": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
        "scalar": torch.tensor(1.5, dtype=torch.float32),
        "empty": torch.zeros(0, 4, dtype=torch.float32),
        "embeddings.position_ids": torch.arange(8, dtype=torch.int64).unsqueeze(0),
        "i64": torch.tensor([-1, 0, 2**40, -(2**62), 2**63 - 1], dtype=torch.int64),
        "i32": torch.tensor([1, -2, 2**31 - 1], dtype=torch.int32),
    }


def rounding_source():
    """F32 values that exercise round-to-nearest-even into F16 and BF16."""
    rng = np.random.default_rng(20240607)
    vals = []
    # Random magnitudes from deep subnormal-F16 range to beyond F16 overflow.
    mags = 10.0 ** rng.uniform(-9, 6, size=600)
    vals += list((mags * rng.choice([-1.0, 1.0], size=600)).astype(np.float32))
    # Exact F16 ties and their F32 neighbours: midpoint between h and the next half up.
    h = rng.integers(0, 0x7BFF, size=200).astype(np.uint16)
    lo = h.view(np.float16).astype(np.float32)
    hi = (h + 1).view(np.float16).astype(np.float32)
    mid = ((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(np.float32)
    vals += list(mid) + list(np.nextafter(mid, np.float32(np.inf))) + list(np.nextafter(mid, np.float32(0)))
    # Exact BF16 ties and neighbours: low 16 bits exactly 0x8000.
    b = rng.integers(0, 0x7F7F, size=200).astype(np.uint32)
    ties = ((b << 16) | 0x8000).view(np.float32)
    vals += list(ties) + list(np.nextafter(ties, np.float32(np.inf))) + list(np.nextafter(ties, np.float32(0)))
    # Thresholds: F16 max, the overflow tie 65520, F16 subnormal ties, F32 extremes.
    special = [65504.0, 65519.996, 65520.0, 65536.0, 2.0**-24, 2.0**-25, 2.0**-25 * 1.0000001,
               3 * 2.0**-26, 2.0**-14, 2.0**-14 - 2.0**-25, 1e-45, 3.4028235e38, 3.3961776e38,
               0.0, -0.0, float("inf"), float("-inf"), float("nan")]
    vals += [np.float32(v) for v in special] + [np.float32(-v) for v in special[:14]]
    return torch.from_numpy(np.array(vals, dtype=np.float32))


def save_with_sorted_metadata(tensors, path, meta):
    """save_file, repeated until __metadata__ comes out with its keys sorted.

    The Rust writer serializes __metadata__ from a HashMap, so its key order (and hence the
    file's bytes) changes from run to run; retrying until the order is the sorted one keeps
    the committed fixture byte-stable without touching what save_file writes.
    """
    for _ in range(1000):
        save_file(tensors, path, metadata=meta)
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        if list(header["__metadata__"].keys()) == sorted(meta):
            return
    raise RuntimeError("could not get a sorted __metadata__ order from save_file")


def make_fixtures():
    os.makedirs(FIXTURES, exist_ok=True)
    t = dtypes_file()
    meta = {"format": "pt", "source": "make_safetensors_fixtures.py",
            "note": "caf\u00e9 \"quoted\" back\\slash / tab\there\nline2"}
    save_with_sorted_metadata(t, os.path.join(FIXTURES, "dtypes.safetensors"), meta)
    expected = {k: (v.to(torch.int64) if not v.is_floating_point() else v.float()) for k, v in t.items()}
    save_file(expected, os.path.join(FIXTURES, "dtypes_as_f32.safetensors"))
    src = rounding_source()
    save_file({"source": src, "to_f16": src.to(torch.float16), "to_bf16": src.to(torch.bfloat16)},
              os.path.join(FIXTURES, "rounding.safetensors"))
    for name in sorted(os.listdir(FIXTURES)):
        print(name, os.path.getsize(os.path.join(FIXTURES, name)), "bytes")


def f32_bits(t):
    return t.detach().float().contiguous().reshape(-1).view(torch.int32).numpy().view(np.uint32).tolist()


def dump(path):
    loaded = load_file(path)
    out = {"metadata": {}, "tensors": {}}
    with safe_open(path, framework="pt") as f:
        out["metadata"] = f.metadata() or {}
        keys = sorted(f.keys())
        assert keys == sorted(loaded.keys()), "load_file and safe_open disagree on names"
        for k in keys:
            t = f.get_tensor(k)
            assert torch.equal(t.view(-1).view(torch.uint8), loaded[k].view(-1).view(torch.uint8)), k
            dtype = str(t.dtype).replace("torch.", "")
            values = f32_bits(t) if t.is_floating_point() else t.reshape(-1).tolist()
            out["tensors"][k] = {"dtype": dtype, "shape": list(t.shape), "values": values}
    print(json.dumps(out))


def resave(src, dst):
    with safe_open(src, framework="pt") as f:
        meta = f.metadata()
    save_file(load_file(src), dst, metadata=meta)


def summary(path):
    out = {}
    for k, t in load_file(path).items():
        flat = t.reshape(-1)
        first = f32_bits(flat[:1]) if flat.numel() else []
        last = f32_bits(flat[-1:]) if flat.numel() else []
        total = float(flat.double().sum()) if t.is_floating_point() else float(flat.sum())
        out[k] = {"shape": list(t.shape), "first": first, "last": last, "sum": total}
    print(json.dumps(out))


def bench(path, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        tensors = load_file(path)
        times.append((time.perf_counter() - start) * 1000)
        del tensors
    print(json.dumps({"load_file_ms": times, "min_ms": min(times)}))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        make_fixtures()
    elif args[0] == "dump" and len(args) == 2:
        dump(args[1])
    elif args[0] == "resave" and len(args) == 3:
        resave(args[1], args[2])
    elif args[0] == "summary" and len(args) == 2:
        summary(args[1])
    elif args[0] == "bench" and len(args) in (2, 3):
        bench(args[1], int(args[2]) if len(args) == 3 else 5)
    else:
        sys.exit(__doc__)
