"""The engine: one per worker process, serving many conversations at once.

Callers submit prompt token ids and get a ``TokenStream`` of text pieces. One thread owns the
model and loops: run the calls queued for it (``call_soon``), admit new requests and prefill
them together, then decode one step for every active sequence (continuous batching). Finished
sequences leave at once; a padded row decodes exactly as it would alone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from generation.engine.detokenizer import Detokenizer
from generation.engine.drafting import Drafter
from generation.engine.kv_cache import PrefixCache, splicable
from generation.engine.loading import load_pretrained
from generation.engine.model_runner import ModelRunner
from generation.engine.scheduler import Scheduler
from generation.engine.sequence import GenerationError, SamplingParams, TokenStream
from generation.threads import intra_op_default, name_os_thread, on_short_lived_thread

logger = logging.getLogger(__name__)
intra_op_default()  # read PyTorch's default before any thread lowers its own

# After a step that gave a reply its first piece, a batch of at most this many rows pauses
# this long, so that the piece reaches the customer before the next step takes both cores
# (see ``Engine._yield_to_first_pieces``).
FIRST_PIECE_PAUSE_S = 0.003
FIRST_PIECE_PAUSE_MAX_ROWS = 2


class Engine:
    """Owns one causal LM and its tokenizer; thread-safe ``submit``.

    ``fast_paths`` lets the decode step use the lean GPT-2 or Llama step where it is verified
    against the model at load (generation/engine/fast_paths.py); ``False`` decodes with the
    model's own forward."""

    def __init__(
        self,
        model: Any,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str,
        max_batch: int = 16,
        draft_tokens: int = 4,
        fast_paths: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.max_batch = max_batch
        self.runner = ModelRunner(model, tokenizer, fast_paths=fast_paths)
        self.device = self.runner.device
        self.dtype = self.runner.dtype
        self.context_window = self.runner.context_window
        self.eos_ids = self.runner.eos_ids
        self.pad_id = self.runner.pad_id
        self.has_chat_template = bool(getattr(tokenizer, "chat_template", None))
        # Speculative decoding with prompt lookup (generation/engine/drafting.py); 0 turns it off.
        self.drafter = Drafter(draft_tokens, self.context_window)
        self.draft_tokens = self.drafter.draft_tokens
        self.detokenizer = Detokenizer(tokenizer)
        self.prefix = PrefixCache()
        self.scheduler = Scheduler(
            max_batch=max_batch,
            eos_ids=self.eos_ids,
            vocab_size=self.runner.vocab_size,
            context_window=self.context_window,
            detokenizer=self.detokenizer,
            drafter=self.drafter,
        )
        self._calls: queue.Queue[Callable[[], None]] = queue.Queue()
        self._closed = threading.Event()
        self.steps = 0
        self._thread = threading.Thread(target=self._run, name=f"engine:{name}", daemon=True)
        self._thread.start()

    # --- public API -------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        name: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        max_batch: int = 16,
        draft_tokens: int = 4,
        fast_paths: bool = True,
    ) -> Engine:
        """Load any causal LM by hub id or local path (``from_pretrained``).

        The loading runs on a short-lived thread: casting weights runs parallel ops, and a
        long-lived caller thread (a Celery pool thread) would keep its OpenMP team, which
        slows every engine step (see generation/threads.py)."""

        def load() -> Engine:
            model, tokenizer = load_pretrained(name, device=device, dtype=dtype, fast_paths=fast_paths)
            return cls(
                model, tokenizer, name=name, max_batch=max_batch, draft_tokens=draft_tokens, fast_paths=fast_paths
            )

        return on_short_lived_thread(load)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def submit(self, prompt_ids: list[int], params: SamplingParams) -> TokenStream:
        if self._closed.is_set():
            raise GenerationError("the engine is closed", retryable=True)
        if not prompt_ids:
            raise GenerationError("empty prompt", retryable=False)
        limit = self.context_window - 1
        if len(prompt_ids) > limit:
            # The prompt builder trims to fit; this guards direct callers.
            prompt_ids = prompt_ids[-limit:]
        stream = TokenStream(list(prompt_ids), params)
        self.scheduler.inbox.put(stream)
        return stream

    def generate(self, prompt_ids: list[int], params: SamplingParams) -> str:
        stream = self.submit(prompt_ids, params)
        for _ in stream:
            pass
        return stream.text

    def call_soon(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the engine's thread before its next step (a query embedding:
        there no second OpenMP team competes with the steps; see generation/threads.py and
        ``Embedder``). Its exceptions are logged, not raised."""
        if self._closed.is_set():
            raise GenerationError("the engine is closed", retryable=True)
        self._calls.put(function)
        self.scheduler.inbox.put(None)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=10)

    # --- figures (the worker's heartbeat, the benchmarks, the tests) --------------------------
    @property
    def active(self) -> int:
        return len(self.scheduler.seqs)

    @property
    def waiting(self) -> int:
        return self.scheduler.waiting

    @property
    def drafted(self) -> int:
        return self.drafter.drafted

    @property
    def accepted(self) -> int:
        return self.drafter.accepted

    @property
    def compactions(self) -> int:
        return self.scheduler.batch.compactions

    @property
    def prefix_builds(self) -> int:
        return self.prefix.builds

    @property
    def prefix_hits(self) -> int:
        return self.prefix.hits

    # --- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        # This thread owns the intra-op thread team that every step uses (see generation/threads.py).
        name_os_thread("parley-engine")
        torch.set_num_threads(intra_op_default())
        with torch.inference_mode():
            while not self._closed.is_set():
                try:
                    self._step()
                except Exception:  # keep the thread alive: fail the batch, not the worker
                    logger.exception("engine step failed; failing the active batch")
                    self.scheduler.fail_all(GenerationError("the model failed", retryable=True))
        self.scheduler.fail_all(GenerationError("the engine is closed", retryable=True))
        self._run_calls()
        self.scheduler.close_inbox()

    def _run_calls(self) -> None:
        while True:
            try:
                function = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                function()
            except Exception:
                logger.exception("a call on the engine's thread failed")

    def _step(self) -> None:
        self._run_calls()
        new = self.scheduler.admit()
        if new:
            self._prefill(new)
            self._yield_to_first_pieces()
        if self.scheduler.seqs:
            self._decode()
            self._yield_to_first_pieces()

    def _prefill(self, streams: list[TokenStream]) -> None:
        prompts = [s.prompt_ids for s in streams]
        shared, prefix_kv = self.prefix.shared(prompts, self.runner.prefix)
        now = time.monotonic()
        logits, cache, mask = self.runner.prefill(prompts, shared, prefix_kv)
        if not splicable(cache):
            # A cache we cannot splice (sliding windows, hybrid models): one at a time.
            self.scheduler.batching_ok = False
            if len(streams) > 1:
                raise RuntimeError("this model's cache cannot be batched")
        seqs = self.scheduler.start(streams, cache, mask, now)
        first_row = len(self.scheduler.seqs) - len(seqs)
        self.scheduler.postprocess(seqs, logits, [[] for _ in seqs], first_row=first_row)

    def _decode(self) -> None:
        scheduler = self.scheduler
        scheduler.evict_cancelled()
        if not scheduler.seqs:
            return
        # Drafts leave holes in the cache, which only the batchable (DynamicLayer) caches take.
        drafts, width = self.drafter.plan(scheduler.seqs, enabled=scheduler.batching_ok)
        rows = [[s.next_token, *d] for s, d in zip(scheduler.seqs, drafts, strict=True)]
        logits = self.runner.decode(rows, width, scheduler.batch)
        self.steps += 1
        kept = scheduler.postprocess(list(scheduler.seqs), logits, drafts)
        if any(k < width for k in kept):
            scheduler.batch.hide(kept, width)

    def _yield_to_first_pieces(self) -> None:
        """Pause briefly after a step that gave some reply its first piece, while the batch is
        small. Otherwise the next step's two-thread team keeps both cores busy, and the task
        thread that takes the piece, the publisher thread and the web process's relay each
        wait for a core: a short pause lets one customer's first delta out sooner. A
        large batch is not paused: there the steps are the work, and a pause would cost every
        reply in it. On a GPU the steps leave the cores free, so there is no pause."""
        first_pieces = self.detokenizer.take_first_pieces()
        rows = len(self.scheduler.seqs)
        if first_pieces and 0 < rows <= FIRST_PIECE_PAUSE_MAX_ROWS and self.device.type == "cpu":
            time.sleep(FIRST_PIECE_PAUSE_S)
