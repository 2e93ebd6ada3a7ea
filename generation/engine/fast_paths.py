"""Fast paths: a lean decode step for GPT-2 and Llama models, used only where it agrees with
the model.

``gpt2_decoder`` and ``llama_decoder`` run the same operations as ``GPT2LMHeadModel.forward``
and ``LlamaForCausalLM.forward`` for the new positions of a decode step, without their per-call
machinery (4-D mask building, output records, cache dispatch, keyword plumbing through every
layer): at 16 sequences a GPT-2 responder's step took about three quarters of the model's own
time, the Llama responder's one-position step about 0.8 of it (docs/benchmarks.md); with five
positions a row, where the matrix products dominate, both take about as long. A lean step
re-implements the model's forward, so ``checked_decoder`` runs a probe through both at load
(two rows of different lengths, then a one-position step and a three-position draft check)
and keeps the lean step only when their logits agree within ``TOLERANCE``; otherwise it logs
the gap and the engine decodes with the model's own forward. ``GENERATION_FAST_PATHS=false``
skips the fast paths altogether (generation/runtime.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

import torch
from transformers import GPT2LMHeadModel, LlamaForCausalLM
from transformers.cache_utils import DynamicCache, DynamicLayer
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, repeat_kv

from generation.engine.kv_cache import GrowableLayer, kv, layers, output_cache, splicable

logger = logging.getLogger(__name__)

# Logits x rows x width new positions, given the tokens, their positions, the mask of every
# cached and new position, and the cache's layers (updated in place).
Decode = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, list[DynamicLayer]], torch.Tensor]

# Largest gap allowed between the lean step's logits and the model's, relative to the largest
# logit: float32 differs only in the order of operations; half precisions round each op.
TOLERANCE = {torch.float32: 1e-4, torch.bfloat16: 3e-2, torch.float16: 1e-2}


def _additive_mask(mask: torch.Tensor, width: int, dtype: torch.dtype) -> torch.Tensor:
    """The additive mask HF's eager attention uses, rows x 1 x width x positions: 0 where
    attended, the dtype's minimum on padding and, among the new positions, on later ones."""
    allowed = mask[:, None, None, :].bool()
    if width > 1:
        total = mask.shape[1]
        causal = torch.ones((width, total), dtype=torch.bool, device=mask.device).tril(total - width)
        allowed = allowed & causal
    return (~allowed).to(dtype) * torch.finfo(dtype).min


def lean_decoder(model: Any) -> Decode | None:
    """The lean decode step for ``model``'s architecture, or ``None`` where there is none."""
    return gpt2_decoder(model) or llama_decoder(model)


def llama_decoder(model: Any) -> Decode | None:
    """A lean decode step for Llama models with eager attention (the offline responder's
    default architecture), or ``None`` for any other model."""
    config = model.config
    if (
        not isinstance(model, LlamaForCausalLM)
        or getattr(config, "_attn_implementation", None) != "eager"
        or getattr(config, "pretraining_tp", 1) != 1
    ):
        return None
    inner: Any = model.model
    blocks = list(inner.layers[: config.num_hidden_layers])

    def decode(
        tokens: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor, cache_layers: list[DynamicLayer]
    ) -> torch.Tensor:
        """Logits for ``tokens`` (rows x width new positions) after the cached ones."""
        rows, width = tokens.shape
        hidden = inner.embed_tokens(tokens)
        bias = _additive_mask(mask, width, hidden.dtype)
        cos, sin = inner.rotary_emb(hidden, position_ids=positions)
        for block, layer in zip(blocks, cache_layers, strict=True):
            attn = block.self_attn
            shape = (rows, width, -1, attn.head_dim)
            normed = block.input_layernorm(hidden)
            query = attn.q_proj(normed).view(shape).transpose(1, 2)
            key = attn.k_proj(normed).view(shape).transpose(1, 2)
            value = attn.v_proj(normed).view(shape).transpose(1, 2)
            query, key = apply_rotary_pos_emb(query, key, cos, sin)
            keys, values = layer.update(key, value)
            keys = repeat_kv(keys, attn.num_key_value_groups)
            values = repeat_kv(values, attn.num_key_value_groups)
            weights = torch.matmul(query, keys.transpose(2, 3)) * attn.scaling + bias
            weights = torch.softmax(weights, dim=-1, dtype=torch.float32).to(query.dtype)
            attended = torch.matmul(weights, values).transpose(1, 2).reshape(rows, width, -1)
            hidden = hidden + attn.o_proj(attended)
            hidden = hidden + block.mlp(block.post_attention_layernorm(hidden))
        return cast(torch.Tensor, model.lm_head(inner.norm(hidden)))

    return decode


def gpt2_decoder(model: Any) -> Decode | None:
    """A lean decode step for GPT-2 models with eager attention (the offline responder), or
    ``None`` for any other model, which decodes through its own ``forward``."""
    config = model.config
    if (
        not isinstance(model, GPT2LMHeadModel)
        or getattr(config, "_attn_implementation", None) != "eager"
        or config.add_cross_attention
        or config.scale_attn_by_inverse_layer_idx
        or config.reorder_and_upcast_attn
        or not config.scale_attn_weights
    ):
        return None
    transformer: Any = model.transformer
    dim, heads = config.n_embd, config.n_head
    head_dim = dim // heads
    scale = head_dim**-0.5

    def decode(
        tokens: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor, cache_layers: list[DynamicLayer]
    ) -> torch.Tensor:
        """Logits for ``tokens`` (rows x width new positions) after the cached ones."""
        rows, width = tokens.shape
        hidden = transformer.wte(tokens) + transformer.wpe(positions)
        bias = _additive_mask(mask, width, hidden.dtype)
        for block, layer in zip(transformer.h, cache_layers, strict=True):
            qkv = block.attn.c_attn(block.ln_1(hidden))
            if width == 1:
                query, key, value = qkv.view(rows, 3, heads, 1, head_dim).unbind(1)
            else:
                query, key, value = qkv.view(rows, width, 3, heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
            keys, values = layer.update(key, value)
            weights = torch.matmul(query, keys.transpose(-1, -2)) * scale + bias
            attended = torch.matmul(torch.softmax(weights, dim=-1), values)
            hidden = hidden + block.attn.c_proj(attended.transpose(1, 2).reshape(rows, width, dim))
            hidden = hidden + block.mlp.c_proj(block.mlp.act(block.mlp.c_fc(block.ln_2(hidden))))
        return cast(torch.Tensor, model.lm_head(transformer.ln_f(hidden)))

    return decode


def checked_decoder(model: Any, *, cache_kwarg: str) -> Decode | None:
    """``lean_decoder(model)`` where it agrees with the model's own forward on a probe (called
    with the cache as ``cache_kwarg``); ``None`` where there is no lean step or it disagrees."""
    decode = lean_decoder(model)
    if decode is None:
        return None
    dtype = next(model.parameters()).dtype
    try:
        gap = probe_gap(model, decode, cache_kwarg=cache_kwarg)
    except Exception:
        logger.warning("the lean decode step failed its probe; decoding with the model's forward", exc_info=True)
        return None
    tolerance = TOLERANCE.get(dtype, TOLERANCE[torch.float16])
    if not gap <= tolerance:  # NaN fails too
        logger.warning(
            "the lean decode step differs from the model's forward (logits off by %.2g of their scale, "
            "allowed %.2g); decoding with the model's forward",
            gap,
            tolerance,
        )
        return None
    return decode


@torch.inference_mode()
def probe_gap(model: Any, decode: Decode, *, cache_kwarg: str) -> float:
    """The largest gap between ``decode``'s logits and the model's, relative to the largest
    logit, over a small left-padded batch: a one-position step, then a three-position one."""
    device = next(model.parameters()).device
    vocab = int(model.config.vocab_size)
    lengths, width = [6, 3], 6
    ids = torch.zeros((len(lengths), width), dtype=torch.long)
    mask = torch.zeros((len(lengths), width), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, width - length :] = (torch.arange(length) * 7 + row * 13 + 1) % vocab
        mask[row, width - length :] = 1
    ids, mask = ids.to(device), mask.to(device)
    out = model(input_ids=ids, attention_mask=mask, position_ids=(mask.cumsum(-1) - 1).clamp(min=0), use_cache=True)
    cache = output_cache(out)
    if not splicable(cache):
        return float("inf")
    reference = DynamicCache(ddp_cache_data=[(k.clone(), v.clone()) for k, v in map(kv, layers(cache))])
    lean: list[DynamicLayer] = [GrowableLayer(k.clone(), v.clone()) for k, v in map(kv, layers(cache))]
    worst = 0.0
    for step in (1, 3):
        tokens = ((torch.arange(len(lengths) * step, device=device) * 11 + 5) % vocab).view(len(lengths), step)
        columns = torch.arange(step, device=device)
        positions = mask.sum(-1, keepdim=True) + columns
        mask = torch.cat([mask, torch.ones((len(lengths), step), dtype=mask.dtype, device=device)], dim=1)
        out = model(
            input_ids=tokens, attention_mask=mask, position_ids=positions, use_cache=True, **{cache_kwarg: reference}
        )
        expected = out.logits.float()
        got = decode(tokens, positions, mask, lean).float()
        scale = float(expected.abs().max().clamp(min=1.0))
        worst = max(worst, float((got - expected).abs().max()) / scale)
    return worst
