#!/usr/bin/env python3
"""Hugging Face logits for dcft's end-to-end tests (tokenization by HF's AutoTokenizer too).

  python3 scripts/hf_logits.py merged DIR INPUT.jsonl MAX_LEN
      AutoModelForSequenceClassification on a directory written by `dcft merge`.
  python3 scripts/hf_logits.py reference BASE_DIR ADAPTER.safetensors INPUT.jsonl MAX_LEN
      The base model with reference-style DCFT (conv_transpose2d, scripts/dcft_reference.py)
      and the head, both loaded from a dcft adapter file.

  python3 scripts/hf_logits.py ids DIR BATCH.json
      AutoModelForSequenceClassification on token ids given directly: BATCH.json holds
      input_ids, attention_mask and optionally token_type_ids as lists of rows.

INPUT lines are {"text": ..., "text_pair": ...?}. Prints one JSON list of logit rows.
Needs: pip install torch==2.13.0+cpu transformers safetensors
"""
import json, sys, pathlib
import torch
from transformers import AutoTokenizer, AutoModelForSequenceClassification, BertForSequenceClassification, RobertaForSequenceClassification
from safetensors import safe_open

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from dcft_reference import wrap, SWIFT_MODULE_NAMES


def encode(tok, path, max_len):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    a = [r["text"] for r in rows]
    b = [r["text_pair"] for r in rows] if "text_pair" in rows[0] else None
    return tok(a, b, truncation=True, max_length=max_len, padding=True, return_tensors="pt")


mode = sys.argv[1]
if mode == "ids":
    model = AutoModelForSequenceClassification.from_pretrained(sys.argv[2], attn_implementation="eager").eval()
    batch = {k: torch.tensor(v) for k, v in json.load(open(sys.argv[3])).items()}
    with torch.no_grad():
        print(json.dumps(model(**batch).logits.tolist()))
    sys.exit(0)
if mode == "merged":
    d, inp, max_len = sys.argv[2], sys.argv[3], int(sys.argv[4])
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSequenceClassification.from_pretrained(d, attn_implementation="eager").eval()
else:
    base, adapter, inp, max_len = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    tok = AutoTokenizer.from_pretrained(base)
    f = safe_open(adapter, "pt")
    meta = f.metadata()
    arch = meta["architecture"]
    cls = BertForSequenceClassification if arch == "bert" else RobertaForSequenceClassification
    model = cls.from_pretrained(base, num_labels=int(meta["num_labels"]), attn_implementation="eager").eval()
    enc = model.bert if arch == "bert" else model.roberta
    prefix = "bert." if arch == "bert" else "roberta."
    assert meta["adapter"] == "dcft", "reference mode checks DCFT adapters"
    modules = [SWIFT_MODULE_NAMES[m] for m in meta["target_modules"].split(",")]
    wrapped = wrap(enc, modules, int(meta["dcft_kernel"]), int(meta["dcft_stride"]), float(meta["dcft_alpha"]), float(meta["dcft_r"]))
    with torch.no_grad():
        for path, lin in wrapped.items():
            for p in ("A", "B", "C"):
                getattr(lin, f"dcft_{p}").copy_(f.get_tensor(f"{prefix}{path}.dcft_{p}"))
        state = model.state_dict()
        for name in f.keys():
            if ".dcft_" not in name:
                state[name].copy_(f.get_tensor(name))
batch = encode(tok, inp, max_len)
with torch.no_grad():
    logits = model(**batch).logits
print(json.dumps(logits.tolist()))
