"""A lean forward pass for BERT-family sentence embedders (all-MiniLM-L6-v2 and its kin).

A query's embedding sits on the first token's path. Through ``SentenceTransformer`` it runs
Hugging Face's ``BertModel`` module by module: per layer a dozen modules, the attention-mask
helpers, dropout no-ops and three separate Q/K/V projections. Here each layer is four prepacked
oneDNN linears (Q, K and V fused into one, GELU fused into the intermediate one), one
``scaled_dot_product_attention`` and two layer norms. The weights are the model's own.

``LeanBert.build`` takes a loaded ``SentenceTransformer`` and returns ``None`` where its modules
are not a plain BERT encoder with mean or CLS pooling; the embedder also checks that the vectors
come out as the model's before using it (generation/knowledge/embedder.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from generation import packing


@dataclass(frozen=True)
class _Linear:
    weight: torch.Tensor  # prepacked for oneDNN
    bias: torch.Tensor

    @classmethod
    def of(cls, weight: torch.Tensor, bias: torch.Tensor, dtype: torch.dtype) -> _Linear:
        packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().to(dtype), None)
        return cls(packed, bias.detach().to(dtype))

    def __call__(self, x: torch.Tensor, activation: str = "none") -> torch.Tensor:
        algorithm = "none" if activation == "gelu" else ""  # exact (erf) GELU, as BERT's
        return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, activation, [], algorithm)


@dataclass(frozen=True)
class _Norm:
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    @classmethod
    def of(cls, norm: torch.nn.LayerNorm) -> _Norm:
        return cls(norm.weight.detach(), norm.bias.detach(), float(norm.eps))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)


@dataclass(frozen=True)
class _Layer:
    qkv: _Linear
    out: _Linear
    norm1: _Norm
    up: _Linear
    down: _Linear
    norm2: _Norm


class LeanBert:
    """``texts -> unit vectors`` with the weights of a BERT sentence-transformer; linears in
    ``dtype`` (bf16 where the CPU computes it natively), the residual stream in fp32."""

    def __init__(self, model: Any, dtype: torch.dtype) -> None:
        transformer, pooling = model[0], model[1]
        bert = transformer.auto_model
        config = bert.config
        self.tokenize = model.preprocess
        self.dtype = dtype
        self.heads = int(config.num_attention_heads)
        self.hidden = int(config.hidden_size)
        self.cls = pooling.pooling_mode == "cls"
        embeddings = bert.embeddings
        self.words = embeddings.word_embeddings.weight.detach()
        self.positions = embeddings.position_embeddings.weight.detach()
        self.types = embeddings.token_type_embeddings.weight.detach()
        self.norm = _Norm.of(embeddings.LayerNorm)
        self.layers = []
        for layer in bert.encoder.layer:
            attention = layer.attention
            q, k, v = attention.self.query, attention.self.key, attention.self.value
            self.layers.append(
                _Layer(
                    qkv=_Linear.of(
                        torch.cat([q.weight, k.weight, v.weight]), torch.cat([q.bias, k.bias, v.bias]), dtype
                    ),
                    out=_Linear.of(attention.output.dense.weight, attention.output.dense.bias, dtype),
                    norm1=_Norm.of(attention.output.LayerNorm),
                    up=_Linear.of(layer.intermediate.dense.weight, layer.intermediate.dense.bias, dtype),
                    down=_Linear.of(layer.output.dense.weight, layer.output.dense.bias, dtype),
                    norm2=_Norm.of(layer.output.LayerNorm),
                )
            )

    @classmethod
    def build(cls, model: Any, dtype: torch.dtype = torch.float32) -> LeanBert | None:
        """A lean copy of ``model``'s forward, or ``None`` where it is not a plain BERT encoder
        (the embedder then runs the model itself)."""
        if not packing.available():
            return None
        try:
            modules = [type(module).__name__ for module in model]
            bert = model[0].auto_model
            config = bert.config
            pooling = model[1]
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
        plain = (
            modules[:2] == ["Transformer", "Pooling"]
            and all(name == "Normalize" for name in modules[2:])
            and type(bert).__name__ == "BertModel"
            and config.hidden_act == "gelu"
            and getattr(config, "position_embedding_type", "absolute") == "absolute"
            and not config.is_decoder
            and config.hidden_size % config.num_attention_heads == 0
            and getattr(pooling, "pooling_mode", None) in ("mean", "cls")
        )
        if not plain:
            return None
        try:
            return cls(model, dtype)
        except (AttributeError, RuntimeError, TypeError):
            return None

    def __call__(self, texts: list[str]) -> np.ndarray:
        features = self.tokenize(texts)
        ids, mask = features["input_ids"], features["attention_mask"]
        types = features.get("token_type_ids")
        batch, length = ids.shape
        x = self.words[ids] + self.positions[:length]
        x = x + (self.types[types] if types is not None else self.types[0])
        x = self.norm(x)
        # One text (or texts of one length) needs no mask; padding keys are masked out.
        attend = None if bool(mask.all()) else mask[:, None, None, :].bool()
        heads, size = self.heads, self.hidden // self.heads
        for layer in self.layers:
            qkv = layer.qkv(x.to(self.dtype))
            q, k, v = qkv.view(batch, length, 3, heads, size).permute(2, 0, 3, 1, 4)
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            context = context.transpose(1, 2).reshape(batch, length, self.hidden)
            x = layer.norm1(x + layer.out(context).float())
            x = layer.norm2(x + layer.down(layer.up(x.to(self.dtype), "gelu")).float())
        if self.cls:
            pooled = x[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1).numpy()
