"""Which sequences decode together, and what each picked token does to its sequence.

Requests wait in an inbox. Between steps, up to ``max_batch`` of them join the running batch
(one at a time for a model whose cache cannot be batched) and cancelled ones leave. After each
forward pass, ``postprocess`` picks every row's tokens, checks its draft, streams its text,
and retires the rows that finished: end of sequence, a stop string, ``max_new_tokens``, the
context window, the deadline, or an error of that row alone.
"""

from __future__ import annotations

import logging
import queue
import time

import torch

from generation.engine.constraints import constrained_pick
from generation.engine.detokenizer import Detokenizer
from generation.engine.drafting import Drafter
from generation.engine.kv_cache import BatchCache
from generation.engine.sampling import pick, remember_ngram
from generation.engine.sequence import GenerationError, Sequence, TokenStream

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        *,
        max_batch: int,
        eos_ids: frozenset[int],
        vocab_size: int,
        context_window: int,
        detokenizer: Detokenizer,
        drafter: Drafter,
    ) -> None:
        self.max_batch = max_batch
        self.eos_ids = eos_ids
        self.vocab_size = vocab_size
        self.context_window = context_window
        self.detokenizer = detokenizer
        self.drafter = drafter
        # Streams to admit; ``None`` only wakes an idle engine (for a ``call_soon``).
        self.inbox: queue.Queue[TokenStream | None] = queue.Queue()
        # The running batch: ``seqs[i]`` is row i of ``batch``. Touched only by the engine's thread.
        self.seqs: list[Sequence] = []
        self.batch = BatchCache()
        self.batching_ok = True  # false once a model's cache proves unsplicable

    @property
    def waiting(self) -> int:
        with self.inbox.mutex:
            return sum(item is not None for item in self.inbox.queue)

    def admit(self) -> list[TokenStream]:
        """The streams that join the batch now (cancelled ones are finished instead). With an
        empty batch, waits up to 100 ms for one."""
        capacity = (self.max_batch if self.batching_ok else 1) - len(self.seqs)
        new: list[TokenStream] = []
        if capacity <= 0:
            return new
        if not self.seqs:
            try:
                first = self.inbox.get(timeout=0.1)
            except queue.Empty:
                return new
            if first is None:
                return new  # a call to run: the next step runs it
            new.append(first)
        while len(new) < capacity:
            try:
                stream = self.inbox.get_nowait()
            except queue.Empty:
                break
            if stream is not None:
                new.append(stream)
        return [s for s in new if not self._drop_if_cancelled(s)]

    def _drop_if_cancelled(self, stream: TokenStream) -> bool:
        if stream.cancelled:
            stream.finish("cancelled")
            return True
        return False

    def start(self, streams: list[TokenStream], cache: object, mask: torch.Tensor, now: float) -> list[Sequence]:
        """Sequences for ``streams``, prefilled at ``now`` into ``cache`` and ``mask``, joined to
        the bottom of the batch."""
        seqs = []
        for stream in streams:
            seq = Sequence(stream=stream, deadline=now + stream.params.timeout_s)
            if stream.params.seed is not None:
                seq.generator = torch.Generator(device="cpu").manual_seed(stream.params.seed)
            stream.stats.started_at = now
            self.drafter.index_prompt(seq)
            seqs.append(seq)
        self.batch.merge(cache, mask)  # type: ignore[arg-type]
        self.seqs.extend(seqs)
        return seqs

    def evict_cancelled(self) -> None:
        self._evict([i for i, s in enumerate(self.seqs) if s.stream.cancelled], "cancelled")

    def postprocess(
        self, seqs: list[Sequence], logits: torch.Tensor, drafts: list[list[int]], *, first_row: int = 0
    ) -> list[int]:
        """Pick each sequence's next tokens from ``logits`` (rows x positions x vocabulary),
        stream their text, and retire finished rows (``seqs`` start at row ``first_row``).

        With drafts, this is speculative decoding's check: each row takes the model's own pick
        at every position and goes on while that pick equals the next draft token, so the text
        is exactly what one token a step would give (greedy, n-gram bans and seeded sampling
        alike: a sampled token that equals the draft is a draw from the same distribution).
        Returns how many of each remaining row's new cache positions hold accepted tokens."""
        finished: list[tuple[int, str, GenerationError | None]] = []
        greedy = torch.argmax(logits, dim=-1).tolist()
        now = time.monotonic()
        kept = []
        for offset, (seq, draft) in enumerate(zip(seqs, drafts, strict=True)):
            row = first_row + offset
            keep = 1
            try:
                for j in range(len(draft) + 1):
                    token = self._pick(seq, logits[offset, j], greedy[offset][j])
                    reason = self._accept(seq, token, now)
                    if reason:
                        finished.append((row, reason, None))
                        break
                    if j == len(draft) or token != draft[j]:
                        break
                    keep += 1
            except Exception as exc:  # one bad sequence fails alone
                logger.exception("sequence failed")
                finished.append((row, "error", GenerationError(str(exc), retryable=False)))
            self.drafter.record(seq, draft, keep - 1)
            kept.append(keep)
        for row, reason, error in finished:
            self.seqs[row].stream.finish(reason, error)
        self._evict([row for row, _, _ in finished], None)
        gone = {row - first_row for row, _, _ in finished}
        return [k for offset, k in enumerate(kept) if offset not in gone]

    def _pick(self, seq: Sequence, logits: torch.Tensor, greedy: int) -> int:
        params = seq.stream.params
        constraint = params.constraint
        if params.logit_bias:
            logits = logits.clone()
            for token, bias in params.logit_bias:
                logits[token] += bias
            greedy = int(torch.argmax(logits).item())
        if constraint is None:
            return pick(seq, logits, greedy)
        text = self.detokenizer.text_of(seq)
        return constrained_pick(
            constraint,
            logits,
            text_with=lambda token: self.detokenizer.text_with(seq, text, token),
            text=text,
            eos_ids=self.eos_ids,
            first_token_of=self.detokenizer.first_token_of,
            best=greedy,
        )

    def _accept(self, seq: Sequence, token: int, now: float) -> str | None:
        """Record ``token``; returns a finish reason or ``None`` to go on."""
        stream, params = seq.stream, seq.stream.params
        if token < 0 or token >= self.vocab_size:
            raise ValueError(f"token id {token} is outside the vocabulary")
        if token in self.eos_ids:
            self.detokenizer.emit(seq, final=True)
            return "stop"
        seq.generated.append(token)
        stream.token_ids.append(token)
        self.drafter.observe(seq, token)
        remember_ngram(seq, params.no_repeat_ngram_size)
        seq.next_token = token
        stream.stats.completion_tokens = len(seq.generated)
        if stream.stats.first_token_at is None:
            stream.stats.first_token_at = now
        if self.detokenizer.add(seq):
            return "stop"
        if len(seq.generated) >= params.max_new_tokens:
            self.detokenizer.emit(seq, final=True)
            return "length"
        if len(stream.prompt_ids) + len(seq.generated) >= self.context_window - 1:
            self.detokenizer.emit(seq, final=True)
            return "length"
        if now > seq.deadline:
            self.detokenizer.emit(seq, final=True)
            return "timeout"
        return None

    def _evict(self, rows: list[int], reason: str | None) -> None:
        if not rows:
            return
        if reason:
            for row in rows:
                self.seqs[row].stream.finish(reason)
        gone = set(rows)
        keep = [i for i in range(len(self.seqs)) if i not in gone]
        self.seqs = [self.seqs[i] for i in keep]
        self.batch.keep(keep)

    def fail_all(self, error: GenerationError) -> None:
        for seq in self.seqs:
            seq.stream.finish("error", error)
        self.seqs = []
        self.batch.clear()

    def close_inbox(self) -> None:
        """Finish every stream still waiting (the engine closed)."""
        while not self.inbox.empty():
            stream = self.inbox.get_nowait()
            if stream is not None:
                stream.finish("closed", GenerationError("closed", retryable=True))
