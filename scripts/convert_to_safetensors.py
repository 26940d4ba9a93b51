#!/usr/bin/env python3
"""Writes DIR/model.safetensors from DIR/pytorch_model.bin (e.g. microsoft/deberta-v3-base, whose
Hub directory has only the PyTorch file), so that dcft can read the model:

    python3 scripts/convert_to_safetensors.py models/deberta-v3-base

The tensors keep their names, shapes and dtypes (dcft converts F16/BF16 to F32 when it loads);
tied or shared tensors are written once each. Needs: pip install torch==2.13.0+cpu safetensors.
The .bin file is loaded with weights_only=True (tensors only, no code from the file runs).
"""
import pathlib, sys
import torch
from safetensors.torch import save_file

if len(sys.argv) != 2:
    sys.exit("usage: convert_to_safetensors.py MODEL_DIR")
d = pathlib.Path(sys.argv[1])
src, dst = d / "pytorch_model.bin", d / "model.safetensors"
if not src.exists():
    sys.exit(f"{src}: no such file")
if dst.exists():
    sys.exit(f"{dst} exists already; remove it to convert again")
state = torch.load(src, map_location="cpu", weights_only=True)
tensors = {k: v.contiguous().clone() for k, v in state.items() if isinstance(v, torch.Tensor)}
save_file(tensors, str(dst), metadata={"format": "pt"})
print(f"{dst}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values()):,} values")
