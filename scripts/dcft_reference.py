"""DCFT as the paper's reference code computes it, for goldens and end-to-end checks.

DCFTLinear wraps a frozen nn.Linear: the increment M = conv_transpose2d(outer(A, B), C, stride=s)
(in × out) is materialised and the layer returns base(x) + scale · x @ M, scale = alpha / (r + 1e-5).
"""
import torch
import torch.nn as nn
import torch.nn.functional as Fn

MODULES = ["attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense"]
SWIFT_MODULE_NAMES = dict(zip(["query", "key", "value", "attention_output", "intermediate", "output"], MODULES))


class DCFTLinear(nn.Module):
    def __init__(self, base, d, s, alpha, r=8):
        super().__init__()
        self.base, self.d, self.s = base, d, s
        n_in = (base.in_features - d) // s + 1
        n_out = (base.out_features - d) // s + 1
        self.dcft_A = nn.Parameter(torch.randn(n_in) * 0.02)
        self.dcft_B = nn.Parameter(torch.randn(n_out) * 0.02)
        self.dcft_C = nn.Parameter(torch.randn(d, d) * 0.02)
        self.scale = alpha / (r + 1e-5)

    def delta(self):
        f = torch.outer(self.dcft_A, self.dcft_B)  # (in/d) x (out/d)
        m = Fn.conv_transpose2d(f[None, None], self.dcft_C[None, None], stride=self.s)[0, 0]
        assert m.shape == (self.base.in_features, self.base.out_features), m.shape
        return m

    def forward(self, x):
        return self.base(x) + self.scale * (x @ self.delta())


def wrap(encoder, modules, d, s, alpha, r=8):
    """Replaces the named linears of every layer of `encoder` with DCFTLinear; returns them by path."""
    wrapped = {}
    for i, layer in enumerate(encoder.encoder.layer):
        for path in modules:
            parent = layer
            *head, last = path.split(".")
            for h in head:
                parent = getattr(parent, h)
            lin = DCFTLinear(getattr(parent, last), d, s, alpha, r)
            setattr(parent, last, lin)
            wrapped[f"encoder.layer.{i}.{path}"] = lin
    return wrapped
