"""Linear layers with their weights prepacked for oneDNN, for small-batch CPU inference.

``F.linear`` runs a GEMM on the row-major weight on every call; with the weight reordered once
into oneDNN's blocked layout, the kernel reads it in the order it computes, with the same
vectors out. Where the CPU computes bf16 natively, the linears can run in bf16 (inputs cast,
outputs back to fp32), faster still (docs/benchmarks.md has the figures).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

# Packing must leave the probe's output as it was: cosine per row above this.
SAME_OUTPUT_COSINE = 0.99999
# bf16 keeps ~3 significant digits: a cosine this close to fp32's vectors moves a retrieval
# score by about 1e-4 at most.
BF16_OUTPUT_COSINE = 0.9999


class PackedLinear(torch.nn.Module):
    def __init__(self, linear: torch.nn.Linear, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.dtype = dtype
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach().to(dtype), None)
        self.bias = None if linear.bias is None else linear.bias.detach().to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.ops.mkldnn._linear_pointwise(x.to(self.dtype), self.packed, self.bias, "none", [], "")
        return out.to(x.dtype)


def available() -> bool:
    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def pack_linears(model: torch.nn.Module, probe: Callable[[], Any], dtype: torch.dtype = torch.float32) -> int:
    """Swap every fp32 ``nn.Linear`` of ``model`` for a ``PackedLinear`` computing in ``dtype``,
    in place.

    ``probe()`` computes an output of the model; it must come out the same after packing
    (within ``BF16_OUTPUT_COSINE`` for bf16), or every layer is put back. Returns how many
    layers were packed: 0 where oneDNN's linear is unavailable or the output changed.
    """
    if not available():
        return 0
    swapped: list[tuple[torch.nn.Module, str, torch.nn.Linear]] = []
    try:
        with torch.inference_mode():
            before = torch.as_tensor(probe()).float()
            for parent in list(model.modules()):
                for name, child in list(parent.named_children()):
                    if isinstance(child, torch.nn.Linear) and child.weight.dtype == torch.float32:
                        setattr(parent, name, PackedLinear(child, dtype))
                        swapped.append((parent, name, child))
            after = torch.as_tensor(probe()).float()
        rows = max(1, before.shape[0]) if before.dim() else 1
        same = torch.nn.functional.cosine_similarity(before.reshape(rows, -1), after.reshape(rows, -1))
        floor = SAME_OUTPUT_COSINE if dtype == torch.float32 else BF16_OUTPUT_COSINE
        if bool((same > floor).all()):
            return len(swapped)
    except (RuntimeError, AttributeError, TypeError, NotImplementedError):
        pass
    for parent, name, child in swapped:
        setattr(parent, name, child)
    return 0
