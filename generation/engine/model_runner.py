"""The forward passes: a prefill for the prompts joining the batch, a decode step for every
row at once, and the prefix the prompts share. Only this module calls the model.

The decode step runs the lean GPT-2 or Llama step where it is available and verified at load
(generation/engine/fast_paths.py), else the model's own ``forward``.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase
from transformers.cache_utils import DynamicCache

from generation.engine.fast_paths import Decode, checked_decoder
from generation.engine.kv_cache import KV, BatchCache, cache_kwarg, expand, layers, output_cache


class ModelRunner:
    def __init__(self, model: Any, tokenizer: PreTrainedTokenizerBase, *, fast_paths: bool = True) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        config = model.config
        self.vocab_size = int(config.vocab_size)
        self.context_window = int(
            getattr(config, "max_position_embeddings", None)
            or getattr(config, "n_positions", None)
            or min(getattr(tokenizer, "model_max_length", 1024), 4096)
        )
        eos = set()
        for source in (getattr(model, "generation_config", None), config):
            value = getattr(source, "eos_token_id", None) if source is not None else None
            if isinstance(value, int):
                eos.add(value)
            elif isinstance(value, (list, tuple)):
                eos.update(int(v) for v in value)
        if tokenizer.eos_token_id is not None:
            eos.add(int(tokenizer.eos_token_id))
        self.eos_ids = frozenset(eos)
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        self.cache_kwarg = cache_kwarg(model)
        params = inspect.signature(model.forward).parameters
        # Only the last position's logits are needed: skipping the LM head on the rest of a
        # prompt saves most of the prefill on small models with large vocabularies.
        self._last_logits: dict[str, Any] = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self.fast_decode: Decode | None = checked_decoder(model, cache_kwarg=self.cache_kwarg) if fast_paths else None

    def prefix(self, ids: list[int]) -> Any:
        """The cache of one prompt start (for the prefix cache)."""
        out = self.model(input_ids=torch.tensor([ids], device=self.device), use_cache=True, **self._last_logits)
        return output_cache(out)

    def prefill(
        self, prompts: list[list[int]], shared: int, prefix_kv: list[KV]
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Run ``prompts`` (their first ``shared`` tokens already in ``prefix_kv``), left-padded
        into one batch; returns each row's last logits (rows x 1 x vocabulary, float32), the
        cache and the attention mask."""
        lengths = [len(p) - shared for p in prompts]
        width = max(lengths)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for row, prompt in enumerate(prompts):
            ids[row, width - lengths[row] :] = torch.tensor(prompt[shared:])
            mask[row, shared + width - lengths[row] :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        past = {self.cache_kwarg: expand(prefix_kv, len(prompts))} if shared else {}
        mask = mask.to(self.device)
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask,
            position_ids=positions.to(self.device),
            use_cache=True,
            **past,
            **self._last_logits,
        )
        return out.logits[:, -1:, :].float(), output_cache(out), mask

    def decode(self, rows: list[list[int]], width: int, batch: BatchCache) -> torch.Tensor:
        """One step for every row of ``batch``: row i feeds ``rows[i]`` (its next token and its
        draft), padded to ``width``. Returns the logits (rows x width x vocabulary, float32);
        the batch's cache and mask grow by ``width`` columns."""
        tokens = torch.tensor([r + [self.pad_id] * (width - len(r)) for r in rows], device=self.device)
        positions = batch.open_columns([len(r) for r in rows], width, self.context_window - 1)
        assert batch.cache is not None and batch.mask is not None
        if self.fast_decode is not None:
            logits = self.fast_decode(tokens, positions, batch.mask, layers(batch.cache))
        else:
            out = self.model(
                input_ids=tokens,
                attention_mask=batch.mask,
                position_ids=positions,
                use_cache=True,
                **{self.cache_kwarg: batch.cache},
            )
            cache: DynamicCache = output_cache(out)
            batch.cache = cache
            logits = out.logits
        return logits.float()
