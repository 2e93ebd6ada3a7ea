"""The KV memory: the running batch's cache and attention mask, and the cached prefix.

The batch keeps one KV cache, left-padded so that every row has the same length, with an
attention mask per row; rows join at the bottom (``merge``) and leave anywhere (``keep``).
Rejected draft positions stay in the cache as holes that the mask hides, until they are many
(``compact``). The prefix cache keeps the KV of the prompt start that requests share (the
system instructions, typically) so that each new prompt only prefills what follows it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

# Rejected draft positions are squeezed out of the cache once they are this many and this
# share (1/n) of it.
COMPACT_MIN_HOLES = 64
COMPACT_SHARE = 3
# Prompt starts shorter than this are not worth a cached prefix.
PREFIX_MIN_TOKENS = 16

KV = tuple[torch.Tensor, torch.Tensor]


class GrowableLayer(DynamicLayer):
    """A ``DynamicLayer`` that appends into a buffer with spare room instead of ``torch.cat``.

    ``DynamicLayer`` copies the whole cache on every decode step; at 16 sequences that copy
    is half of the responder's step time (``aten::cat`` 53% in ``torch.profiler``). This
    layer grows its buffer by half again when full, so a step writes one position.
    ``keys``/``values`` stay views of the filled part, as ``DynamicLayer`` callers expect.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.device = keys.device
        self.is_initialized = True
        self.adopt(keys, values)

    def adopt(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Take these tensors as the whole cache (after a merge or an eviction)."""
        self._kbuf: torch.Tensor | None = None
        self._vbuf: torch.Tensor | None = None
        self.keys, self.values = keys, values

    def _reserve(self, needed: int) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.keys is not None and self.values is not None
        if self._kbuf is not None and self._vbuf is not None and needed <= self._kbuf.shape[-2]:
            return self._kbuf, self._vbuf
        used = self.keys.shape[-2]
        capacity = needed + max(32, needed // 2)
        kbuf = self.keys.new_empty((*self.keys.shape[:-2], capacity, self.keys.shape[-1]))
        vbuf = self.values.new_empty((*self.values.shape[:-2], capacity, self.values.shape[-1]))
        kbuf[..., :used, :] = self.keys
        vbuf[..., :used, :] = self.values
        self._kbuf, self._vbuf = kbuf, vbuf
        return kbuf, vbuf

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.keys is not None
        used, new = self.keys.shape[-2], key_states.shape[-2]
        kbuf, vbuf = self._reserve(used + new)
        kbuf[..., used : used + new, :] = key_states
        vbuf[..., used : used + new, :] = value_states
        self.keys, self.values = kbuf[..., : used + new, :], vbuf[..., : used + new, :]
        return self.keys, self.values


class BatchCache:
    """The running batch's cache and mask, one row per sequence (the scheduler's order)."""

    def __init__(self) -> None:
        self.cache: DynamicCache | None = None
        self.mask: torch.Tensor | None = None
        self.compactions = 0

    def merge(self, cache: DynamicCache, mask: torch.Tensor) -> None:
        """Add the rows of a prefill's ``cache`` and ``mask`` below the batch's rows."""
        if self.cache is None or self.mask is None:
            cache.layers = [GrowableLayer(*kv(layer)) for layer in layers(cache)]
            self.cache, self.mask = cache, mask
            return
        width = max(self.mask.shape[1], mask.shape[1])
        for old_layer, new_layer in zip(layers(self.cache), layers(cache), strict=True):
            old_k, old_v = kv(old_layer)
            new_k, new_v = kv(new_layer)
            adopt(
                old_layer,
                torch.cat([left_pad(old_k, width), left_pad(new_k, width)], dim=0),
                torch.cat([left_pad(old_v, width), left_pad(new_v, width)], dim=0),
            )
        self.mask = torch.cat([left_pad_mask(self.mask, width), left_pad_mask(mask, width)], dim=0)

    def open_columns(self, lengths: list[int], width: int, max_position: int) -> torch.Tensor:
        """Add ``width`` columns for a step that feeds row i ``lengths[i]`` tokens (the rest of
        its columns is padding, masked); returns the new positions (rows x width)."""
        assert self.mask is not None
        columns = torch.arange(width, device=self.mask.device)
        positions = (self.mask.sum(-1, keepdim=True) + columns).clamp(max=max_position)
        block = (columns < torch.tensor(lengths, device=self.mask.device)[:, None]).to(self.mask.dtype)
        self.mask = torch.cat([self.mask, block], dim=1)
        return positions

    def hide(self, kept: list[int], width: int) -> None:
        """After a step of ``width`` columns: row i keeps only its first ``kept[i]`` of them
        (rejected drafts become holes that the mask hides); compacts when holes are many."""
        assert self.mask is not None
        columns = torch.arange(width, device=self.mask.device)
        live = torch.tensor(kept, device=self.mask.device)
        self.mask[:, -width:] = (columns < live[:, None]).to(self.mask.dtype)
        self._compact()

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order); columns that are padding in every remaining row
        are cut."""
        if not rows:
            self.clear()
            return
        assert self.cache is not None and self.mask is not None
        index = torch.tensor(rows, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        live = torch.nonzero(mask.any(dim=0), as_tuple=False)
        start = int(live[0].item()) if live.numel() else 0
        self.mask = mask[:, start:]
        for layer in layers(self.cache):
            keys, values = kv(layer)
            adopt(layer, keys.index_select(0, index)[:, :, start:, :], values.index_select(0, index)[:, :, start:, :])

    def clear(self) -> None:
        self.cache, self.mask = None, None

    def _compact(self) -> None:
        """Squeeze out the columns that rejected drafts left, once they are many."""
        assert self.cache is not None and self.mask is not None
        used = int(self.mask.sum(-1).max().item())
        total = self.mask.shape[1]
        if total - used < max(COMPACT_MIN_HOLES, total // COMPACT_SHARE):
            return
        self.compactions += 1
        # A stable sort puts each row's unused columns first, in order, and its used ones last.
        order = torch.sort(self.mask, dim=1, stable=True).indices[:, total - used :]
        self.mask = self.mask.gather(1, order)
        for layer in layers(self.cache):
            keys, values = kv(layer)
            index = order[:, None, :, None].expand(keys.shape[0], keys.shape[1], used, keys.shape[3])
            adopt(layer, keys.gather(2, index), values.gather(2, index))


class PrefixCache:
    """The KV of the longest common start of the last prompts seen, reused by new prompts
    that start with at least ``PREFIX_MIN_TOKENS`` of it."""

    def __init__(self) -> None:
        self.enabled = True  # off for models whose cache is not a plain DynamicCache
        self._ids: list[int] = []
        self._kv: list[KV] = []
        self._last_prompt: list[int] = []
        self.builds = 0
        self.hits = 0

    def shared(self, prompts: list[list[int]], compute: Callable[[list[int]], Any]) -> tuple[int, list[KV]]:
        """The length and KV of the prompt start these prompts share with the cached prefix,
        computing a new prefix with ``compute(ids) -> cache`` when that pays."""
        if not self.enabled:
            return 0, []
        shortest = min(len(p) for p in prompts) - 1  # every row keeps at least one token to prefill
        cached = min(common_prefix([self._ids, *prompts]), shortest)
        if cached >= PREFIX_MIN_TOKENS:
            self.hits += len(prompts)
            return cached, [(k[:, :, :cached], v[:, :, :cached]) for k, v in self._kv]
        candidates = [*prompts, self._last_prompt] if len(prompts) == 1 else prompts
        length = min(common_prefix(candidates), shortest)
        self._last_prompt = prompts[-1]
        if length < PREFIX_MIN_TOKENS:
            return 0, []
        cache = compute(prompts[0][:length])
        if not splicable(cache):
            self.enabled = False
            return 0, []
        self._ids = list(prompts[0][:length])
        self._kv = [kv(layer) for layer in layers(cache)]
        self.builds += 1
        self.hits += len(prompts)
        return length, self._kv


def splicable(cache: Any) -> bool:
    """Whether rows of this cache can be cut and joined: a ``DynamicCache`` of plain
    ``DynamicLayer``s (not sliding windows or hybrid models)."""
    return isinstance(cache, DynamicCache) and all(type(layer) is DynamicLayer for layer in cache.layers)


def expand(prefix_kv: list[KV], rows: int) -> DynamicCache:
    """A cache holding ``prefix_kv`` once per row, for a prefill that continues it."""
    return DynamicCache(
        ddp_cache_data=[
            (k.expand(rows, -1, -1, -1).contiguous(), v.expand(rows, -1, -1, -1).contiguous()) for k, v in prefix_kv
        ]
    )


def cache_kwarg(model: Any) -> str:
    """The name ``model``'s forward takes its cache by (transformers 5.x renames
    ``past_key_values`` to ``cache`` model by model)."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def output_cache(out: Any) -> Any:
    """The cache a forward pass returned (transformers 5.x renames ``past_key_values`` to
    ``cache`` model by model)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def layers(cache: DynamicCache) -> list[DynamicLayer]:
    """The cache's layers; the prefill has checked that they are all ``DynamicLayer``s."""
    return cast(list[DynamicLayer], cache.layers)


def adopt(layer: DynamicLayer, keys: torch.Tensor, values: torch.Tensor) -> None:
    if isinstance(layer, GrowableLayer):
        layer.adopt(keys, values)
    else:
        layer.keys, layer.values = keys, values


def kv(layer: DynamicLayer) -> KV:
    assert layer.keys is not None and layer.values is not None
    return layer.keys, layer.values


def common_prefix(sequences: list[list[int]]) -> int:
    if not sequences or not all(sequences):
        return 0
    length = 0
    for items in zip(*sequences, strict=False):
        if any(item != items[0] for item in items):
            break
        length += 1
    return length


def left_pad(tensor: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - tensor.shape[2]
    if missing <= 0:
        return tensor
    pad = torch.zeros(
        (tensor.shape[0], tensor.shape[1], missing, tensor.shape[3]),
        dtype=tensor.dtype,
        device=tensor.device,
    )
    return torch.cat([pad, tensor], dim=2)


def left_pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - mask.shape[1]
    if missing <= 0:
        return mask
    pad = torch.zeros((mask.shape[0], missing), dtype=mask.dtype, device=mask.device)
    return torch.cat([pad, mask], dim=1)
