"""Linear layers with their weights prepacked for oneDNN, for small-batch CPU inference.

``F.linear`` runs a GEMM on the row-major weight on every call; with the weight reordered once
into oneDNN's blocked layout, the kernel reads it in the order it computes, with the same
vectors out. Where the CPU computes bf16 natively, the linears can run in bf16 (inputs cast,
outputs back to fp32), faster still (docs/benchmarks.md has the figures): for the embedder
always (``pack_linears``), for the engine's model from the number of rows at which bf16 is
timed faster on this CPU (``adapt_linears``), since a decode step of one sequence can be
faster in fp32.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

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


class RowAdaptiveLinear(torch.nn.Module):
    """A linear layer of an fp32 model that computes in bf16, its weight prepacked
    (``PackedLinear``), from ``cutoff`` input rows on. On CPUs with bf16 matrix units (AMX),
    bf16 is several times faster than fp32 for many rows (a prefill, a batched decode step)
    and can be slower for a few (a decode step of one or two sequences); the rest of the
    model, and its cache, stay in fp32, which is faster for those few rows too. ``layer`` is
    an ``nn.Linear`` or a transformers ``Conv1D`` (GPT-2's, which computes ``x @ weight``)."""

    def __init__(self, layer: torch.nn.Module, cutoff: int) -> None:
        super().__init__()
        self.packed = PackedLinear(as_linear(layer), torch.bfloat16)
        self.cutoff = cutoff
        # The fp32 layer only where some rows use it: one that bf16 always speeds up (cutoff 1)
        # keeps no second copy of its weights.
        self.layer = layer if cutoff > 1 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer is not None and x.numel() < self.cutoff * x.shape[-1]:
            return cast(torch.Tensor, self.layer(x))
        return cast(torch.Tensor, self.packed(x))


def as_linear(layer: torch.nn.Module) -> torch.nn.Linear:
    """``layer`` as an ``nn.Linear``: itself, or a transformers ``Conv1D``'s weights transposed."""
    if isinstance(layer, torch.nn.Linear):
        return layer
    weight = cast(torch.Tensor, layer.weight).detach()  # Conv1D: (in, out)
    bias = cast(torch.Tensor | None, getattr(layer, "bias", None))
    linear = torch.nn.Linear(weight.shape[0], weight.shape[1], bias=bias is not None)
    with torch.no_grad():
        linear.weight.copy_(weight.t())
        if bias is not None:
            linear.bias.copy_(bias.detach())
    return linear


def _is_linear(layer: torch.nn.Module) -> bool:
    """An fp32 ``nn.Linear`` or transformers ``Conv1D`` (told by name: transformers is not
    imported for the embedder's sake)."""
    if isinstance(layer, torch.nn.Linear):
        return layer.weight.dtype == torch.float32
    weight = getattr(layer, "weight", None)
    return (
        type(layer).__name__ == "Conv1D"
        and isinstance(weight, torch.Tensor)
        and weight.dim() == 2
        and weight.dtype == torch.float32
    )


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

    def packed(child: torch.nn.Module) -> torch.nn.Module | None:
        if isinstance(child, torch.nn.Linear) and child.weight.dtype == torch.float32:
            return PackedLinear(child, dtype)
        return None

    return _swap_checked(model, probe, packed, SAME_OUTPUT_COSINE if dtype == torch.float32 else BF16_OUTPUT_COSINE)


def _swap_checked(
    model: torch.nn.Module,
    probe: Callable[[], Any],
    replacement: Callable[[torch.nn.Module], torch.nn.Module | None],
    floor: float,
) -> int:
    """Swap, in place, each layer of ``model`` that ``replacement`` gives a replacement for;
    the swaps stay where ``probe()``'s output comes out within a cosine of ``floor`` (per row)
    of what it was, else every layer is put back. Returns how many layers were swapped (0:
    none, or all put back)."""
    swapped: list[tuple[torch.nn.Module, str, torch.nn.Module]] = []
    try:
        with torch.inference_mode():
            before = torch.as_tensor(probe()).float()
            for parent in list(model.modules()):
                for name, child in list(parent.named_children()):
                    new = replacement(child)
                    if new is not None:
                        setattr(parent, name, new)
                        swapped.append((parent, name, child))
            if not swapped:
                return 0
            after = torch.as_tensor(probe()).float()
        rows = max(1, before.shape[0]) if before.dim() else 1
        same = torch.nn.functional.cosine_similarity(before.reshape(rows, -1), after.reshape(rows, -1))
        if bool((same > floor).all()):
            return len(swapped)
    except (RuntimeError, AttributeError, TypeError, NotImplementedError, IndexError, ValueError):
        pass
    for parent, name, child in swapped:
        setattr(parent, name, child)
    return 0


# The row counts at which each layer shape's bf16 and fp32 kernels are timed (``bf16_cutoff``).
CUTOFF_ROWS = (1, 2, 4, 8, 16, 32, 64)
NEVER = CUTOFF_ROWS[-1] * 1_000_000
# bf16 counts as faster for a number of rows where it takes at most this share of fp32's time:
# a margin, so that timing noise seldom moves a cutoff.
FASTER = 0.9


def _seconds(call: Callable[[], Any], repeat: int = 5, number: int = 3) -> float:
    """The best of ``repeat`` timings of ``number`` calls: the least disturbed by other work."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            call()
        best = min(best, time.perf_counter() - started)
    return best / number


def bf16_cutoff(layer: torch.nn.Module) -> int:
    """The fewest input rows from which ``layer`` (``_is_linear``) is faster prepacked in bf16
    (its input and output cast) than in fp32, at every row count timed from there up to
    ``CUTOFF_ROWS[-1]``; ``NEVER`` where bf16 is not faster even there."""
    packed = PackedLinear(as_linear(layer), torch.bfloat16)
    cutoff = NEVER
    with torch.inference_mode():
        for rows in reversed(CUTOFF_ROWS):
            x = torch.randn(rows, packed.in_features)
            layer(x), packed(x)  # warm: the first call allocates
            if _seconds(lambda: packed(x)) > FASTER * _seconds(lambda: layer(x)):  # noqa: B023 - called here
                break
            cutoff = rows
    return cutoff


def adapt_linears(model: torch.nn.Module, probe: Callable[[], Any]) -> dict[tuple[int, int], int] | None:
    """Swap the fp32 linear layers of ``model`` (``nn.Linear`` or ``Conv1D``) for
    ``RowAdaptiveLinear``s, in place, with the cutoff timed on this CPU for their shape
    (``bf16_cutoff``; a shape that bf16 never speeds up stays fp32). ``probe()`` computes an
    output with many rows: it must come out within ``BF16_OUTPUT_COSINE`` of fp32's, or every
    layer is put back. Returns each shape's (in, out) cutoff (``NEVER``: fp32 at every size);
    ``None`` where oneDNN's linear is unavailable or the probe's output changed."""
    if not available():
        return None
    cutoffs: dict[tuple[int, int], int] = {}

    def adapted(child: torch.nn.Module) -> torch.nn.Module | None:
        if not _is_linear(child):
            return None
        weight = cast(torch.Tensor, child.weight)  # Linear: (out, in); Conv1D: (in, out)
        n_out, n_in = weight.shape if isinstance(child, torch.nn.Linear) else weight.shape[::-1]
        shape = (int(n_in), int(n_out))
        if shape not in cutoffs:
            cutoffs[shape] = bf16_cutoff(child)
        return RowAdaptiveLinear(child, cutoffs[shape]) if cutoffs[shape] < NEVER else None

    swapped = _swap_checked(model, probe, adapted, BF16_OUTPUT_COSINE)
    return cutoffs if swapped or all(cut == NEVER for cut in cutoffs.values()) else None
