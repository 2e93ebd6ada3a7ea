"""Loading a causal LM by hub id or local path: device, dtype, and the model's options.

On the CPU, models of every size run in bf16 where the CPU computes it natively
(``cpu_has_native_bf16``): batched with drafts, even the 5M-parameter responder's decode step
is matrix products (16 rows of 5 positions: 24 -> 14 ms a step; docs/benchmarks.md); where
bf16 is emulated they stay fp32. Attention is eager (with a padding mask, SDPA falls back to a
slower path).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from generation.threads import cpu_has_native_bf16

logger = logging.getLogger(__name__)


def load_pretrained(
    name: str, *, device: str, dtype: str, fast_paths: bool = True
) -> tuple[Any, PreTrainedTokenizerBase]:
    """The model (on its device, in eval mode) and its tokenizer. With ``fast_paths``, a model
    whose activation is ``gelu_new`` gets ``gelu_pytorch_tanh``: the same tanh approximation
    as one native kernel, which is faster."""
    hf_logging.disable_progress_bar()
    torch_device = resolve_device(device)
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
    if dtype == "auto" and torch_device.type == "cpu" and cpu_has_native_bf16():
        model = model.to(torch.bfloat16)  # type: ignore[arg-type]
    model.to(torch_device)  # type: ignore[arg-type]
    model.eval()
    logger.info("loaded %s on %s as %s", name, torch_device, next(model.parameters()).dtype)
    return model, tokenizer


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
