"""Loading a causal LM by hub id or local path: device, dtype, and the model's options.

On a CPU that computes bf16 natively (``cpu_has_native_bf16``: AVX512-BF16, AMX), each linear
layer of the fp32 model computes in bf16, prepacked, from a number of rows timed at load for
its shape (``_adapt_linears``): batched with drafts, and in every prefill, even the
5M-parameter responder's step is matrix products that bf16 speeds up several times, while a
decode step of one or two sequences can run faster all in fp32 (docs/benchmarks.md has both).
Where bf16 is emulated models stay fp32. Attention is eager (with a padding mask, SDPA falls
back to a slower path).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from generation import packing
from generation.threads import cpu_has_native_bf16

logger = logging.getLogger(__name__)


def load_pretrained(
    name: str, *, device: str, dtype: str, fast_paths: bool = True
) -> tuple[Any, PreTrainedTokenizerBase]:
    """The model (on its device, in eval mode) and its tokenizer. With ``fast_paths``, a model
    whose activation is ``gelu_new`` gets ``gelu_pytorch_tanh``: the same tanh approximation
    as one native kernel, which is faster; and on a CPU with native bf16, linear layers that
    compute in bf16 from their timed cutoff (without ``fast_paths``, or where oneDNN's linear
    is missing or the probe's logits move: the whole model in bf16)."""
    hf_logging.disable_progress_bar()
    torch_device = resolve_device(device)
    steady_attention(torch_device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    tokenizer = AutoTokenizer.from_pretrained(name)
    options: dict[str, Any] = {"dtype": torch_dtype}
    if torch_device.type == "cpu":
        # Eager attention is faster than SDPA here: SDPA falls back to a slow path with a
        # padding mask.
        options["attn_implementation"] = "eager"
    config = AutoConfig.from_pretrained(name)
    if fast_paths and getattr(config, "activation_function", None) == "gelu_new":
        options["activation_function"] = "gelu_pytorch_tanh"
    model = AutoModelForCausalLM.from_pretrained(name, **options)
    mixed = ""
    if dtype == "auto" and torch_device.type == "cpu" and cpu_has_native_bf16():
        cutoffs = _adapt_linears(model) if fast_paths else None
        if cutoffs is None:  # no timed choice: the whole model in bf16
            model = model.to(torch.bfloat16)  # type: ignore[arg-type]
        elif cutoffs:
            mixed = "; linear layers " + ", ".join(
                f"{n_in}x{n_out}: "
                + ("fp32" if rows == packing.NEVER else f"bf16 from {rows} rows" if rows > 1 else "bf16")
                for (n_in, n_out), rows in sorted(cutoffs.items())
            )
    model.to(torch_device)  # type: ignore[arg-type]
    model.eval()
    logger.info("loaded %s on %s as %s%s", name, torch_device, next(model.parameters()).dtype, mixed)
    return model, tokenizer


def steady_attention(device: torch.device) -> None:
    """On a GPU, leave cuDNN out of PyTorch's attention kernels. torch 2.11 sends a masked
    ``scaled_dot_product_attention`` to cuDNN first on recent GPUs, and cuDNN builds an execution
    plan for every shape it has not seen (FunASR#3704: 0.44 s a plan on a B200). A decode step
    meets a key length it has not seen at every step, so each step pays for a plan: on an H200,
    the engine's forward step took 42 ms for one row and 139 ms for 16, where the same model's
    step over shapes it had seen took 3 ms (``bench/engine_profile.py``). FlashAttention and
    the memory-efficient kernels serve the same calls with no plan to build. The setting is the
    process's: the embedder's attention, on the same GPU, gains the same."""
    if device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(False)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"GENERATION_DEVICE must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("GENERATION_DEVICE asks for CUDA but no GPU is visible")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in table:
        raise ValueError(f"GENERATION_DTYPE must be auto, float32, bfloat16 or float16, got {dtype!r}")
    return table[dtype]


# The probe of ``_adapt_linears``: this many positions, so that every layer computes in bf16.
PROBE_POSITIONS = 64


def _adapt_linears(model: Any) -> dict[tuple[int, int], int] | None:
    """Let the linear layers of the fp32 ``model`` compute in bf16 from as many rows as that is
    faster on this CPU (``packing.adapt_linears``: a cutoff timed at load, per layer shape),
    the logits staying within ``packing.BF16_OUTPUT_COSINE`` of fp32's; ``None`` where that
    cannot be had (the caller then runs the whole model in bf16)."""
    vocab = int(model.config.vocab_size)
    positions = min(PROBE_POSITIONS, int(getattr(model.config, "max_position_embeddings", None) or PROBE_POSITIONS))
    ids = (torch.arange(positions) * 7919 % vocab).unsqueeze(0)

    def logits() -> torch.Tensor:
        return cast(torch.Tensor, model(input_ids=ids, use_cache=False).logits[0])

    return packing.adapt_linears(model, logits)
