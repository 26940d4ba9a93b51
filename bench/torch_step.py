#!/usr/bin/env python3
"""PyTorch reference timing of one training step on the same shapes as `dcft bench`.

    python3 bench/torch_step.py MODEL_DIR MODE [--batch 32] [--seq 128] [--threads 2] [--steps 10]
MODE: full (every weight trains), lora (PEFT LoRA r=1 on the six modules), dcft (the reference
code's way: M materialised with conv_transpose2d, then x @ M; scripts/dcft_reference.py).
Prints one line: mode, median ms/step, tokens/s.
Needs: pip install torch==2.13.0+cpu transformers peft
"""
import argparse, pathlib, statistics, sys, time
import torch
from transformers import AutoModelForSequenceClassification

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "scripts"))
from dcft_reference import wrap, MODULES  # noqa: E402
DEBERTA_MODULES = ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
                   "attention.output.dense", "intermediate.dense", "output.dense"]

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("mode", choices=["full", "lora", "dcft"])
p.add_argument("--batch", type=int, default=32); p.add_argument("--seq", type=int, default=128)
p.add_argument("--threads", type=int, default=2); p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=2); p.add_argument("--kernel", type=int, default=8)
p.add_argument("--bf16", action="store_true", help="forward and backward under torch.autocast('cpu', torch.bfloat16)")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
model = AutoModelForSequenceClassification.from_pretrained(a.model, num_labels=2, attn_implementation="eager")
model.train()
deberta = model.config.model_type == "deberta-v2"
if a.mode == "dcft":
    for q in model.parameters():
        q.requires_grad_(False)
    wrap(model.base_model, DEBERTA_MODULES if deberta else MODULES, a.kernel, a.kernel, 16.0)
elif a.mode == "lora":
    from peft import LoraConfig, get_peft_model
    pattern = r".*\.layer\.\d+\.(attention\.self\.(query|key|value)(_proj)?|attention\.output\.dense|intermediate\.dense|output\.dense)"
    model = get_peft_model(model, LoraConfig(r=1, lora_alpha=2, lora_dropout=0.0, target_modules=pattern))
for n, q in model.named_parameters():
    if "classifier" in n or "pooler" in n:
        q.requires_grad_(True)
opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
ids = torch.randint(1000, model.config.vocab_size, (a.batch, a.seq))
labels = torch.randint(0, 2, (a.batch,))
times = []
for s in range(a.warmup + a.steps):
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    out.loss.backward()
    opt.step(); opt.zero_grad()
    if s >= a.warmup:
        times.append(time.perf_counter() - t0)
med = statistics.median(times)
print(f"torch{'-bf16' if a.bf16 else ''} {a.mode}: median {med * 1000:.1f} ms/step, {a.batch * a.seq / med:.0f} tokens/s "
      f"({a.threads} threads, batch {a.batch} x seq {a.seq})")
