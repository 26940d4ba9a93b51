#!/usr/bin/env python3
"""Writes a Hugging Face model directory with random weights in a named shape, for timing only
(dcft bench and bench/cluster_study.sh): config.json and model.safetensors, plus the
all-MiniLM-L6-v2 tokenizer files so that every dcft command accepts the directory.

    python3 scripts/make_random_model.py bert-base work-data/bert-base-random

Shapes: bert-base (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 30522: 110 M parameters).
Needs torch and transformers (launch/install-deps.sh --python). The output is not committed.
"""
import os, shutil, sys
import torch
from transformers import BertConfig, BertModel

SHAPES = {"bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                            vocab_size=30522, max_position_embeddings=512)}

def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit(f"usage: make_random_model.py {{{','.join(SHAPES)}}} OUT_DIR")
    shape, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    model = BertModel(BertConfig(**SHAPES[shape]))
    model.save_pretrained(out, safe_serialization=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tok = os.path.join(root, "models", "all-MiniLM-L6-v2")
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(tok, f)):
            shutil.copy(os.path.join(tok, f), os.path.join(out, f))
    print(f"{out}: {shape}, {sum(p.numel() for p in model.parameters()):,} parameters")

if __name__ == "__main__":
    main()
