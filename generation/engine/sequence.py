"""Per-request state: what a caller submits (``SamplingParams``), what it reads back (a
``TokenStream`` and its ``StreamStats``), and what the engine keeps for each sequence it
decodes (``Sequence``)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from generation.engine.drafting import DraftState

_END = object()


class GenerationError(RuntimeError):
    """A sequence failed; ``retryable`` says whether running it again can help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class SamplingParams:
    max_new_tokens: int = 120
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    # Bans repeating any n-gram of the *generated* text (the prompt is exempt, so quoting a
    # knowledge-base snippet stays possible).
    no_repeat_ngram_size: int = 0
    stop: tuple[str, ...] = ()
    timeout_s: float = 120.0
    seed: int | None = None
    # Every reply must stay one that this allows (generation/engine/constraints.py).
    constraint: Any = None
    # Added to these tokens' logits before a pick: (token id, bias) pairs.
    logit_bias: tuple[tuple[int, float], ...] = ()


@dataclass
class StreamStats:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    submitted_at: float = 0.0
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None
    finish_reason: str = ""


class TokenStream:
    """Text pieces of one generation, in order. Iterate it from any one thread."""

    def __init__(self, prompt_ids: list[int], params: SamplingParams) -> None:
        self.prompt_ids = prompt_ids
        self.params = params
        self.stats = StreamStats(prompt_tokens=len(prompt_ids), submitted_at=time.monotonic())
        self._queue: queue.Queue[Any] = queue.Queue()
        self._cancelled = threading.Event()
        self.text = ""
        self.token_ids: list[int] = []  # generated so far (written by the engine's thread)

    def __iter__(self) -> Iterator[str]:
        deadline = self.stats.submitted_at + self.params.timeout_s + 30
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                self.cancel()
                raise GenerationError("the engine did not finish in time", retryable=True) from None
            if item is _END:
                return
            if isinstance(item, GenerationError):
                raise item
            yield item

    def cancel(self) -> None:
        """Stop generating; the text produced so far stays in ``text``."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # --- called by the engine's thread -------------------------------------------------------
    def put(self, piece: str) -> None:
        self.text += piece
        self._queue.put(piece)

    def finish(self, reason: str, error: GenerationError | None = None) -> None:
        self.stats.finished_at = time.monotonic()
        self.stats.finish_reason = reason
        self._queue.put(error if error is not None else _END)


@dataclass
class Sequence:
    """One stream as the engine decodes it: its tokens, its text and what of it has been
    streamed, its sampling state, and its drafting state."""

    stream: TokenStream
    generated: list[int] = field(default_factory=list)
    next_token: int = 0  # the last token picked: the next step feeds it
    ngrams: dict[tuple[int, ...], set[int]] = field(default_factory=dict)  # for no-repeat bans
    # Incremental detokenizing: the token window decoded last, the text, what was streamed.
    prefix_offset: int = 0
    read_offset: int = 0
    text: str = ""
    emitted: int = 0
    generator: torch.Generator | None = None  # seeded sampling
    deadline: float = 0.0
    draft: DraftState = field(default_factory=DraftState)
