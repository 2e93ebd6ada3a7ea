"""The generation engine: one per worker process, serving many conversations at once with
continuous batching and speculative decoding. Read it in this order:

- ``llm_engine``: ``Engine``, the loop that steps (submit, call_soon, close);
- ``scheduler``: admission, eviction, and what each picked token does (finish reasons);
- ``sequence``: per-request state (``SamplingParams``, ``TokenStream``, ``StreamStats``);
- ``model_runner``: the forward passes (prefill, decode step, shared prefix);
- ``kv_cache``: the batch's KV cache and mask (``GrowableLayer``), and prefix reuse;
- ``sampling``: greedy, temperature, top-p, no-repeat n-grams;
- ``drafting``: prompt-lookup drafts and how many each step checks;
- ``detokenizer``: text pieces, stop strings;
- ``fast_paths``: the lean GPT-2 and Llama decode steps, verified against the model at load;
- ``loading``: device, dtype and ``from_pretrained``.

Nothing outside ``generation/`` imports torch or transformers.
"""

from __future__ import annotations

from generation.engine.kv_cache import GrowableLayer
from generation.engine.llm_engine import Engine
from generation.engine.loading import resolve_device, resolve_dtype
from generation.engine.sequence import GenerationError, SamplingParams, StreamStats, TokenStream

__all__ = [
    "Engine",
    "GenerationError",
    "GrowableLayer",
    "SamplingParams",
    "StreamStats",
    "TokenStream",
    "resolve_device",
    "resolve_dtype",
]
