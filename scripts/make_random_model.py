#!/usr/bin/env python3
"""Writes a Hugging Face model directory with random weights in a named shape, for timing only
(dcft bench and bench/cluster_study.sh): config.json and model.safetensors, plus the
all-MiniLM-L6-v2 tokenizer files so that every dcft command accepts the directory.

    python3 scripts/make_random_model.py bert-base work-data/bert-base-random

Shapes: bert-base (hidden 768, 12 layers, 12 heads, FFN 3072, vocab 30522: 110 M parameters);
deberta-v3-base (microsoft/deberta-v3-base's config: the same block sizes, relative attention with
256 log buckets, shared keys, p2c|c2p, vocab 128100: 184 M parameters).
Needs torch and transformers (launch/install-deps.sh --python). The output is not committed.
"""
import os, shutil, sys
import torch
from transformers import BertConfig, BertModel, DebertaV2Config, DebertaV2Model

SHAPES = {"bert-base": (BertConfig, BertModel, dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                                   intermediate_size=3072, vocab_size=30522, max_position_embeddings=512)),
          "deberta-v3-base": (DebertaV2Config, DebertaV2Model, dict(
              hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, vocab_size=128100,
              max_position_embeddings=512, relative_attention=True, position_buckets=256, norm_rel_ebd="layer_norm",
              share_att_key=True, pos_att_type="p2c|c2p", layer_norm_eps=1e-7, max_relative_positions=-1,
              position_biased_input=False, type_vocab_size=0))}

def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SHAPES:
        sys.exit(f"usage: make_random_model.py {{{','.join(SHAPES)}}} OUT_DIR")
    shape, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    config_class, model_class, keys = SHAPES[shape]
    model = model_class(config_class(**keys))
    model.save_pretrained(out, safe_serialization=True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tok = os.path.join(root, "models", "all-MiniLM-L6-v2")
    for f in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(tok, f)):
            shutil.copy(os.path.join(tok, f), os.path.join(out, f))
    print(f"{out}: {shape}, {sum(p.numel() for p in model.parameters()):,} parameters")

if __name__ == "__main__":
    main()
