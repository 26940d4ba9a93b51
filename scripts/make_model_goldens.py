#!/usr/bin/env python3
"""Golden outputs of Hugging Face transformers (+ PEFT) for dcft's model tests.

For tiny random BERT and RoBERTa configs (BERT's hidden size 40 is not a multiple of 64) it
writes, under Tests/ModelTests/Fixtures/:
  tiny-bert/, tiny-roberta/     config.json + model.safetensors (random weights, from save_pretrained)
  goldens/CASE.json             inputs, initial trainable tensors, logits, loss, the gradient of
                                every trainable tensor, and the losses over three AdamW steps.

DCFT is computed the way the paper's reference code computes it (docs/DESIGN.md §2): the increment
M = conv_transpose2d(Aᵀ·B, C, stride=s) is materialised and the layer returns
base(x) + scale · x @ M, with scale = alpha / (r + 1e-5). LoRA comes from PEFT itself.
All dropout is 0 so the outputs are deterministic.

Regenerate (from the repository root):
    pip install torch==2.13.0+cpu transformers peft safetensors   # CPU wheel
    python3 scripts/make_model_goldens.py
"""
import json, pathlib, zlib
import torch
import torch.nn as nn
import torch.nn.functional as Fn
import sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from dcft_reference import DCFTLinear  # noqa: E402
from transformers import (BertConfig, BertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification,
                          DebertaV2Config, DebertaV2ForSequenceClassification)

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests/ModelTests/Fixtures"
MODULES = ["attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense"]
torch.set_default_dtype(torch.float32)


def tiny_bert(labels):
    return BertConfig(vocab_size=99, hidden_size=40, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=72, max_position_embeddings=64, type_vocab_size=2,
                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=labels,
                      attn_implementation="eager")


def tiny_roberta(labels):
    return RobertaConfig(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=128, max_position_embeddings=66, type_vocab_size=1, pad_token_id=1,
                         bos_token_id=0, eos_token_id=2, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0, num_labels=labels, attn_implementation="eager")


def tiny_deberta_v3(labels):
    """DeBERTa-v3's shape in miniature: relative attention with log buckets (8 buckets, so the
    12-token batch reaches the logarithmic part), share_att_key, p2c|c2p, LayerNorm on the relative
    embeddings, no absolute positions, no token types."""
    return DebertaV2Config(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=128, max_position_embeddings=64, type_vocab_size=0,
                           relative_attention=True, position_buckets=8, max_relative_positions=64,
                           norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type="p2c|c2p",
                           position_biased_input=False, layer_norm_eps=1e-7, hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0, pooler_dropout=0.0, num_labels=labels)


def tiny_deberta_v2(labels):
    """DeBERTa-v2 / v1-style options: the convolution after the first layer, absolute positions
    and token types, embedding_size ≠ hidden_size (embed_proj), separate position projections
    (share_att_key false: pos_key_proj, pos_query_proj), relative distances clamped at 6."""
    return DebertaV2Config(vocab_size=99, hidden_size=64, embedding_size=48, num_hidden_layers=2,
                           num_attention_heads=4, intermediate_size=128, max_position_embeddings=64,
                           type_vocab_size=2, relative_attention=True, max_relative_positions=6,
                           position_buckets=-1, share_att_key=False, pos_att_type="c2p|p2c",
                           position_biased_input=True, conv_kernel_size=3, conv_act="tanh",
                           layer_norm_eps=1e-7, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                           pooler_dropout=0.0, num_labels=labels)


def tiny_deberta_p2c(labels):
    """Only the position→content term, shared keys, no buckets, max_relative_positions −1 (so the
    span is max_position_embeddings), no LayerNorm on the relative embeddings."""
    return DebertaV2Config(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=128, max_position_embeddings=64, type_vocab_size=0,
                           relative_attention=True, position_buckets=-1, max_relative_positions=-1,
                           share_att_key=True, pos_att_type="p2c", position_biased_input=True, layer_norm_eps=1e-7,
                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pooler_dropout=0.0, num_labels=labels)


def tiny_deberta_absolute(labels):
    """No relative attention at all (absolute positions only) but pos_att_type set: transformers
    still counts the terms in the attention scale."""
    return DebertaV2Config(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                           intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                           relative_attention=False, pos_att_type="c2p|p2c", position_biased_input=True,
                           layer_norm_eps=1e-7, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                           pooler_dropout=0.0, num_labels=labels)


# arch → (config, class, encoder attribute, adapted module paths, token types used, padding id, lengths)
DEBERTA_MODULES = ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj",
                   "attention.output.dense", "intermediate.dense", "output.dense"]
ARCHS = {
    "bert": (tiny_bert, BertForSequenceClassification, "bert", MODULES, True, 0, (7, 4, 9)),
    "roberta": (tiny_roberta, RobertaForSequenceClassification, "roberta", MODULES, False, 1, (7, 4, 9)),
    "deberta-v3": (tiny_deberta_v3, DebertaV2ForSequenceClassification, "deberta", DEBERTA_MODULES, False, 0, (7, 4, 12)),
    "deberta-v2": (tiny_deberta_v2, DebertaV2ForSequenceClassification, "deberta", DEBERTA_MODULES, True, 0, (7, 4, 12)),
    "deberta-p2c": (tiny_deberta_p2c, DebertaV2ForSequenceClassification, "deberta", DEBERTA_MODULES, False, 0, (7, 4, 12)),
    "deberta-absolute": (tiny_deberta_absolute, DebertaV2ForSequenceClassification, "deberta", DEBERTA_MODULES, True, 0, (7, 4, 12)),
}


def batch(arch, B=3, lengths=(7, 4, 9), seed=1):
    g = torch.Generator().manual_seed(seed)
    L = max(lengths)
    pad = ARCHS[arch][5]
    ids = torch.full((B, L), pad, dtype=torch.long)
    types = torch.zeros((B, L), dtype=torch.long)
    mask = torch.zeros((B, L), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(3, 99, (n,), generator=g)
        mask[b, :n] = 1
        if ARCHS[arch][4]:
            types[b, n // 2:n] = 1
    return ids, types, mask


def orth_penalty(model, kind):
    vecs = [p for n, p in model.named_parameters() if n.endswith("dcft_A") or n.endswith("dcft_B")]
    if not vecs:
        return torch.zeros(())
    e = torch.stack([(v * v).sum() - 1 for v in vecs])
    return e.abs().mean() if kind == "reference" else (e * e).sum()


def flat(t):  # 9 significant digits round-trip every float32 exactly
    return [float("%.9g" % v) if isinstance(v, float) else v for v in t.detach().flatten().tolist()]


def swift_name(n):
    n = n.replace("base_model.model.", "").replace(".default", "").replace(".modules_to_save", "")
    return n.replace(".base.", ".")


def build(case, arch, labels, adapter, d=8, s=None, alpha=32.0, full=False, lora_r=4, lora_alpha=8.0):
    """The case's model (shared tiny weights, the adapter written as the reference writes it) and
    its trainable tensors under dcft's names."""
    torch.manual_seed(zlib.crc32(case.encode()))
    make_config, cls, enc_name, modules, uses_types, _, lengths = ARCHS[arch]
    cfg = make_config(labels)
    model = cls(cfg).eval()
    wdir = ROOT / f"tiny-{arch}{'-regression' if labels == 1 else ''}"
    if not (wdir / "model.safetensors").exists():
        model.save_pretrained(wdir, safe_serialization=True)
    # Load the saved weights back so every case of this architecture shares them.
    model = cls.from_pretrained(wdir, attn_implementation="eager").eval()
    enc = getattr(model, enc_name)
    if adapter == "dcft":
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in enc.encoder.layer:
            for path in modules:
                parent = layer
                *head, last = path.split(".")
                for h in head:
                    parent = getattr(parent, h)
                setattr(parent, last, DCFTLinear(getattr(parent, last), d, s or d, alpha))
    elif adapter == "lora":
        from peft import LoraConfig, get_peft_model
        pattern = r".*\.layer\.\d+\.(attention\.self\.(query|key|value)(_proj)?|attention\.output\.dense|intermediate\.dense|output\.dense)"
        model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0,
                                                 target_modules=pattern, modules_to_save=None))
        with torch.no_grad():  # non-zero B so A gets a gradient
            for n, p in model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.05)
    elif adapter == "none" and not full:
        for p in model.parameters():
            p.requires_grad_(False)
    # The head trains in every PEFT mode (BERT: pooler + classifier; RoBERTa: classifier.*).
    for n, p in model.named_parameters():
        if "classifier" in n or "pooler" in n:
            p.requires_grad_(True)
    trainable = [(swift_name(n), p) for n, p in model.named_parameters() if p.requires_grad]
    return model, enc, trainable, wdir


def make(case, arch, labels, adapter, d=8, s=None, alpha=32.0, gamma=0.1, penalty="reference", full=False,
         lora_r=4, lora_alpha=8.0):
    make_config, cls, enc_name, modules, uses_types, _, lengths = ARCHS[arch]
    model, enc, trainable, wdir = build(case, arch, labels, adapter, d, s, alpha, full, lora_r, lora_alpha)

    ids, types, mask = batch(arch, lengths=lengths)
    if labels == 1:
        y = torch.tensor([0.5, 3.25, 4.75])
    else:
        y = torch.tensor([1, 0, labels - 1])
    init = {n: p.detach().clone() for n, p in trainable}
    merged = None  # with the initial adapter tensors
    if adapter == "dcft":  # merged weights of one adapted layer, W0 + scale·Mᵀ
        lin = getattr(enc.encoder.layer[0].attention.self, modules[0].split(".")[-1])
        merged = [float("%.9g" % v) for v in (lin.base.weight + lin.scale * lin.delta().T).detach().flatten().tolist()]

    def loss_fn():
        out = model(input_ids=ids, token_type_ids=types if uses_types else None, attention_mask=mask, labels=y)
        return out.logits, out.loss, out.loss + gamma * orth_penalty(model, penalty)

    logits, task_loss, total = loss_fn()
    total.backward()
    grads = {n: p.grad.detach().clone() for n, p in trainable}
    decay = [p for n, p in trainable if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in trainable if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=5e-3, betas=(0.9, 0.999), eps=1e-8)
    losses = [total.item()]
    for _ in range(3):
        opt.step()
        opt.zero_grad()
        _, _, t = loss_fn()
        t.backward()
        losses.append(t.item())

    golden = {
        "case": case, "arch": arch, "weights": wdir.name, "num_labels": labels, "adapter": adapter, "full": full,
        "kernel": d, "stride": s or d, "alpha": alpha, "r": 8, "gamma": gamma, "penalty": penalty,
        "lora_rank": lora_r, "lora_alpha": lora_alpha,
        "batch": list(ids.shape), "input_ids": flat(ids), "token_type_ids": flat(types), "attention_mask": flat(mask),
        "labels": flat(y), "init": {n: flat(v) for n, v in init.items()},
        "shapes": {n: list(v.shape) for n, v in init.items()},
        "logits": flat(logits), "task_loss": task_loss.item(), "loss": losses[0],
        "grads": {n: flat(g) for n, g in grads.items()},
        "adamw": {"lr": 5e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01, "losses": losses},
        "merged_layer0_query": merged,
    }
    (ROOT / "goldens").mkdir(parents=True, exist_ok=True)
    (ROOT / "goldens" / f"{case}.json").write_text(json.dumps(golden))
    print(f"{case}: loss {losses[0]:.6f} -> {losses[-1]:.6f}, {len(trainable)} trainable tensors")


def recipe_batches(arch, labels, lengths):
    """Four fixed micro-batches of 3 rows (ids, types, mask, labels) for the trajectory goldens."""
    batches = []
    for k in range(4):
        ids, types, mask = batch(arch, lengths=lengths, seed=10 + k)
        g = torch.Generator().manual_seed(100 + k)
        y = torch.rand(3, generator=g) * 5 if labels == 1 else torch.randint(0, labels, (3,), generator=g)
        batches.append((ids, types, mask, y))
    return batches


def run_recipe(model, trainable, batches, uses_types, steps, accumulation, lr, warmup, max_norm, gamma, penalty):
    """The whole recipe for `steps` optimizer steps: `accumulation` micro-batches per step (each one's
    mean loss / accumulation), the orthogonality penalty once per step, global-norm clipping
    (torch.nn.utils.clip_grad_norm_), AdamW with weight decay off for biases and LayerNorm,
    transformers' linear warm-up and decay. Returns every step's loss."""
    from transformers import get_linear_schedule_with_warmup
    decay = [p for n, p in trainable if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in trainable if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, warmup, steps)
    params = [p for _, p in trainable]
    losses = []
    for step in range(steps):
        total = torch.zeros(())
        for m in range(accumulation):
            ids, types, mask, y = batches[(step * accumulation + m) % len(batches)]
            out = model(input_ids=ids, token_type_ids=types if uses_types else None, attention_mask=mask, labels=y)
            total = total + out.loss / accumulation
        total = total + gamma * orth_penalty(model, penalty)
        total.backward()
        losses.append(total.item())
        torch.nn.utils.clip_grad_norm_(params, max_norm)
        opt.step(); sched.step(); opt.zero_grad()
    return losses


def trajectory(case, arch, labels, adapter, steps=50, accumulation=2, lr=5e-3, warmup=5, max_norm=1.0, gamma=0.1,
               penalty="reference", d=8, full=False, lora_r=4, lora_alpha=8.0, dropout=0.0, seeds=1):
    """`run_recipe` in PyTorch from the case's initial tensors. Dropout off (the default): writes
    goldens/trajectory-CASE.json with the micro-batches, initial tensors, every step's loss and the
    final trainable tensors. With `dropout` p (hidden, attention, classifier) for `seeds` dropout
    seeds: goldens/trajectory-dropout-CASE.json with each seed's loss curve (dcft's masks differ
    from torch's by design, so the two are compared as distributions)."""
    _, _, _, _, uses_types, _, lengths = ARCHS[arch]
    model, enc, trainable, wdir = build(case, arch, labels, adapter, d, None, 32.0, full, lora_r, lora_alpha)
    if dropout > 0:
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = dropout
        model.train()
    batches = recipe_batches(arch, labels, lengths)
    init = {n: p.detach().clone() for n, p in trainable}
    curves = []
    for seed in range(seeds):
        with torch.no_grad():
            for n, p in trainable:
                p.copy_(init[n])
        if dropout > 0:
            torch.manual_seed(1000 + seed)
        curves.append(run_recipe(model, trainable, batches, uses_types, steps, accumulation, lr, warmup, max_norm,
                                 gamma, penalty))
    golden = {"case": case, "arch": arch, "weights": wdir.name, "num_labels": labels, "adapter": adapter, "full": full,
              "kernel": d, "stride": d, "alpha": 32.0, "gamma": gamma, "penalty": penalty, "lora_rank": lora_r,
              "lora_alpha": lora_alpha, "steps": steps, "accumulation": accumulation, "lr": lr, "warmup": warmup,
              "max_grad_norm": max_norm,
              "batches": [{"batch": list(b[0].shape), "input_ids": flat(b[0]), "token_type_ids": flat(b[1]),
                           "attention_mask": flat(b[2]), "labels": flat(b[3])} for b in batches],
              "init": {n: flat(v) for n, v in init.items()}}
    if dropout > 0:
        golden.update(dropout=dropout, curves=curves)
        name = f"trajectory-dropout-{case}"
    else:
        golden.update(losses=curves[0], final={n: flat(p) for n, p in trainable})
        name = f"trajectory-{case}"
    (ROOT / "goldens" / f"{name}.json").write_text(json.dumps(golden))
    print(f"{name}: loss {curves[0][0]:.6f} -> {curves[0][-1]:.6f} over {steps} steps, {seeds} seed(s)")


if __name__ == "__main__":
    only = sys.argv[1] if len(sys.argv) > 1 else ""   # e.g. "deberta": only the cases starting with it
    _make = make
    make = lambda case, *a, **k: _make(case, *a, **k) if case.startswith(only) else None  # noqa: E731
    make("bert-dcft-d8", "bert", 3, "dcft", d=8)
    make("bert-dcft-d2", "bert", 3, "dcft", d=2, penalty="paper")
    make("bert-dcft-d4-s2", "bert", 3, "dcft", d=4, s=2)
    make("bert-lora-r4", "bert", 3, "lora")
    make("bert-head-only", "bert", 3, "none")
    make("bert-full", "bert", 3, "none", full=True, gamma=0.0)
    make("bert-regression-dcft-d8", "bert", 1, "dcft", d=8)
    make("roberta-dcft-d8", "roberta", 2, "dcft", d=8)
    make("roberta-dcft-d2", "roberta", 2, "dcft", d=2)
    make("roberta-lora-r4", "roberta", 2, "lora")
    make("deberta-v3-dcft-d8", "deberta-v3", 3, "dcft", d=8)
    make("deberta-v3-dcft-d2", "deberta-v3", 3, "dcft", d=2, penalty="paper")
    make("deberta-v3-lora-r4", "deberta-v3", 3, "lora")
    make("deberta-v3-head-only", "deberta-v3", 3, "none")
    make("deberta-v3-regression-dcft-d8", "deberta-v3", 1, "dcft", d=8)
    make("deberta-v2-dcft-d8", "deberta-v2", 2, "dcft", d=8)
    make("deberta-v2-lora-r4", "deberta-v2", 2, "lora")
    make("deberta-p2c-dcft-d8", "deberta-p2c", 2, "dcft", d=8)
    make("deberta-absolute-dcft-d8", "deberta-absolute", 2, "dcft", d=8)
    if "deberta".startswith(only) or only.startswith("deberta"):
        # transformers' log-bucketed relative positions, for the Swift port's exactness test.
        from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position
        tables = []
        for buckets, max_pos, span in [(256, 512, 1100), (8, 64, 200), (32, 128, 300), (64, 512, 600)]:
            r = torch.arange(-span, span + 1)
            tables.append({"buckets": buckets, "max_position": max_pos, "from": -span,
                           "bucket": make_log_bucket_position(r, buckets, max_pos).long().tolist()})
        (ROOT / "goldens" / "deberta-buckets.json").write_text(json.dumps(tables))
        print("deberta-buckets: written")
    for args in [("bert-dcft-d8", "bert", 3, "dcft"), ("bert-lora-r4", "bert", 3, "lora"), ("roberta-dcft-d8", "roberta", 2, "dcft")]:
        if ("trajectory-" + args[0]).startswith(only) or only == "":
            trajectory(*args)
    if "trajectory-bert-full".startswith(only) or only == "":
        trajectory("bert-full", "bert", 3, "none", full=True, gamma=0.0, lr=1e-3)
    if "trajectory-dropout-bert-dcft-d8".startswith(only) or only == "":
        trajectory("bert-dcft-d8", "bert", 3, "dcft", dropout=0.1, seeds=8)
