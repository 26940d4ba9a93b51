#!/usr/bin/env python3
"""The Python reference for `dcft prepare` on one single-sentence GLUE split: read the TSV,
tokenize with Hugging Face `tokenizers` (Rust, batch, all cores) at max_length, and write the
same dataset layout with h5py. Prints examples/s for tokenization alone and end to end.

    python3 bench/prepare_hf.py TSV MODEL_DIR OUT.h5 [MAX_LENGTH]
"""
import sys, time
import numpy as np, h5py
from tokenizers import Tokenizer

tsv, model, out = sys.argv[1:4]
max_length = int(sys.argv[4]) if len(sys.argv) > 4 else 128
t0 = time.perf_counter()
rows = [l.rstrip("\n").split("\t") for l in open(tsv, encoding="utf-8")][1:]
texts, labels = [r[0] for r in rows], [int(r[1]) for r in rows]
tok = Tokenizer.from_file(f"{model}/tokenizer.json")
tok.no_padding()
tok.enable_truncation(max_length=max_length)
t1 = time.perf_counter()
enc = tok.encode_batch(texts)
t2 = time.perf_counter()
ids = np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in enc])
types = np.concatenate([np.asarray(e.type_ids, dtype=np.int8) for e in enc])
offsets = np.zeros(len(enc) + 1, dtype=np.int64)
offsets[1:] = np.cumsum([len(e.ids) for e in enc])
with h5py.File(out, "w") as f:
    f["input_ids"], f["token_type_ids"], f["offsets"] = ids, types, offsets
    f["labels"] = np.asarray(labels, dtype=np.int32)
t3 = time.perf_counter()
n = len(texts)
print(f"hf-tokenizers: {n} examples, {len(ids)} tokens; tokenize {t2 - t1:.3f} s ({n / (t2 - t1):.0f} examples/s); "
      f"end to end {t3 - t0:.3f} s ({n / (t3 - t0):.0f} examples/s)")
