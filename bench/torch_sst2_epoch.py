#!/usr/bin/env python3
"""The PyTorch reference training loop on real SST-2, as the DCFT paper's code runs it: every
batch padded to max_seq_length, DCFT's ΔW materialised with conv_transpose2d (scripts/
dcft_reference.py), AdamW at the config's learning rate, dropout on, batch 32, seed 6.

    python3 bench/torch_sst2_epoch.py MODEL_DIR GLUE/SST-2 [--threads 2] [--max-steps N]

Every step has the same shape (32 × max_seq_length), so the step time does not depend on the
data: with --max-steps N the epoch time is extrapolated as (steps per epoch) × (median step
time over the N steps after warm-up), and the script says so. Without it the whole epoch runs.
Prints one line starting with `torch sst2 epoch:`.
Needs: pip install torch==2.13.0+cpu transformers peft
"""
import argparse
import csv
import pathlib
import random
import statistics
import sys
import time

import torch
from transformers import AutoTokenizer, BertForSequenceClassification

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
from dcft_reference import wrap, MODULES  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("data")
p.add_argument("--threads", type=int, default=2); p.add_argument("--batch", type=int, default=32)
p.add_argument("--max-length", type=int, default=128); p.add_argument("--lr", type=float, default=8e-4)
p.add_argument("--kernel", type=int, default=8); p.add_argument("--max-steps", type=int, default=0)
p.add_argument("--warmup", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(6)

t_start = time.perf_counter()
with open(pathlib.Path(a.data) / "train.tsv", newline="") as f:
    rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
sentences = [r["sentence"] for r in rows]
labels = torch.tensor([int(r["label"]) for r in rows])
tok = AutoTokenizer.from_pretrained(a.model)
enc = tok(sentences, padding="max_length", truncation=True, max_length=a.max_length, return_tensors="pt")
t_data = time.perf_counter() - t_start

model = BertForSequenceClassification.from_pretrained(a.model, num_labels=2, attn_implementation="eager")
model.train()
for q in model.parameters():
    q.requires_grad_(False)
wrap(model.bert, MODULES, a.kernel, a.kernel, 16.0)
for n, q in model.named_parameters():
    if "classifier" in n or "pooler" in n:
        q.requires_grad_(True)
opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=a.lr, weight_decay=0.01)

order = list(range(len(sentences)))
random.Random(6).shuffle(order)
batches = [order[i:i + a.batch] for i in range(0, len(order), a.batch)]
limit = len(batches) if a.max_steps == 0 else min(len(batches), a.warmup + a.max_steps)
times = []
t_loop = time.perf_counter()
for s, idx in enumerate(batches[:limit]):
    t0 = time.perf_counter()
    out = model(input_ids=enc["input_ids"][idx], attention_mask=enc["attention_mask"][idx],
                token_type_ids=enc["token_type_ids"][idx], labels=labels[idx])
    out.loss.backward()
    opt.step(); opt.zero_grad()
    if s >= a.warmup or limit == len(batches):
        times.append(time.perf_counter() - t0)
loop = time.perf_counter() - t_loop
med = statistics.median(times)
if limit == len(batches):
    print(f"torch sst2 epoch: {len(batches)} steps, measured {loop:.1f} s for the whole epoch "
          f"(median {med * 1000:.1f} ms/step; tokenizing + padding {t_data:.1f} s), {a.threads} threads")
else:
    print(f"torch sst2 epoch: {len(batches)} steps, extrapolated {len(batches) * med:.1f} s "
          f"(median {med * 1000:.1f} ms/step over {len(times)} steps after {a.warmup} warm-up; "
          f"tokenizing + padding {t_data:.1f} s), {a.threads} threads")
