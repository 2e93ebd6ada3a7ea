"""The generation engine: one per worker process, serving many conversations at once.

Callers submit prompt token ids and get a ``TokenStream`` of text pieces. A scheduler thread
owns the model and runs *continuous batching*: every active sequence shares each decode step;
new requests join between steps (their prefill batched together), finished ones leave at
once. The batch keeps one KV cache, left-padded so that every row has the same length, with
an attention mask and explicit position ids per row, so a padded row decodes exactly as it
would alone.

Speculative decoding with prompt lookup: a reply that quotes its prompt (a knowledge snippet)
repeats n-grams the prompt already holds, so the tokens that followed such an n-gram there are
a cheap guess at what comes next. A step feeds each row its next token plus up to
``draft_tokens`` guessed ones and keeps the guesses the model agrees with: several tokens for
one step's cost, and the same text as one token a step.

Nothing outside ``generation/`` imports torch or transformers.
"""

from __future__ import annotations

import inspect
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GPT2LMHeadModel, PreTrainedTokenizerBase
from transformers.cache_utils import DynamicCache, DynamicLayer
from transformers.utils import logging as hf_logging

from generation.threads import cpu_has_native_bf16, intra_op_default, on_short_lived_thread

logger = logging.getLogger(__name__)
intra_op_default()  # read PyTorch's default before any thread lowers its own

# Prompt starts shorter than this are not worth a cached prefix.
PREFIX_MIN_TOKENS = 16
# Prompt-lookup drafting: the last this-many tokens are looked up in the prompt and the reply.
DRAFT_NGRAM = 3
# Rejected draft positions are squeezed out of the cache once they are this many and this
# share (1/n) of it.
COMPACT_MIN_HOLES = 64
COMPACT_SHARE = 3
# The cost of one more position a row in a step, relative to a one-position step: measured
# here at 16 rows, 5 positions cost 1.93x one (the weights are read once for all of them).
DRAFT_POSITION_COST = 0.25
# What a new sequence's drafts are expected to be worth: the share of draft tokens accepted.
DRAFT_PRIOR = 0.6
# After a step that gave a reply its first piece, a batch of at most this many rows pauses
# this long, so that the piece reaches the customer before the next step takes both cores
# (see ``Engine._yield_to_first_pieces``).
FIRST_PIECE_PAUSE_S = 0.003
FIRST_PIECE_PAUSE_MAX_ROWS = 2

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
        self.token_ids: list[int] = []  # generated so far (written by the scheduler)

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

    # --- called by the scheduler thread ---------------------------------------------------
    def _put(self, piece: str) -> None:
        self.text += piece
        self._queue.put(piece)

    def _finish(self, reason: str, error: GenerationError | None = None) -> None:
        self.stats.finished_at = time.monotonic()
        self.stats.finish_reason = reason
        self._queue.put(error if error is not None else _END)


@dataclass
class _Seq:
    stream: TokenStream
    generated: list[int] = field(default_factory=list)
    next_token: int = 0
    ngrams: dict[tuple[int, ...], set[int]] = field(default_factory=dict)
    prefix_offset: int = 0
    read_offset: int = 0
    text: str = ""
    emitted: int = 0
    generator: torch.Generator | None = None
    deadline: float = 0.0
    # Prompt-lookup drafting: prompt + reply tokens, and where each n-gram last continued.
    context: list[int] = field(default_factory=list)
    continuations: dict[tuple[int, ...], int] = field(default_factory=dict)
    draft_from: int | None = None
    draft_rate: float = DRAFT_PRIOR  # how often its draft tokens were accepted, recently


class Engine:
    """Owns one causal LM and its tokenizer; thread-safe ``submit``."""

    def __init__(
        self,
        model: Any,
        tokenizer: PreTrainedTokenizerBase,
        *,
        name: str,
        max_batch: int = 16,
        draft_tokens: int = 4,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.max_batch = max_batch
        # Speculative decoding with prompt lookup: up to this many tokens copied from the
        # prompt are checked in one step (0 turns it off); see ``_draft``.
        self.draft_tokens = max(0, draft_tokens)
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.has_chat_template = bool(getattr(tokenizer, "chat_template", None))
        config = model.config
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
        # Streams to admit; ``None`` only wakes an idle scheduler for a ``call_soon``.
        self._inbox: queue.Queue[TokenStream | None] = queue.Queue()
        self._first_pieces = 0  # replies that got their first piece in this step
        self._calls: queue.Queue[Callable[[], None]] = queue.Queue()
        self._closed = threading.Event()
        self._batching_ok = True
        # Batch state, touched only by the scheduler thread.
        self._seqs: list[_Seq] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None
        self.steps = 0
        self.drafted = 0  # draft tokens checked
        self.accepted = 0  # of which the model agreed with
        self.compactions = 0
        # transformers 5.x renames ``past_key_values`` to ``cache`` model by model.
        params = inspect.signature(model.forward).parameters
        self._cache_kwarg = "cache" if "cache" in params else "past_key_values"
        # Only the last position's logits are needed: skipping the LM head on the rest of a
        # prompt saves most of the prefill on small models with large vocabularies.
        self._last_logits: dict[str, Any] = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self._fast_decode = gpt2_decoder(model)
        self._prefix_ok = True
        self._prefix_ids: list[int] = []
        self._prefix_kv: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._last_prompt: list[int] = []
        self.prefix_builds = 0
        self.prefix_hits = 0
        self._thread = threading.Thread(target=self._run, name=f"engine:{name}", daemon=True)
        self._thread.start()

    # --- public API -------------------------------------------------------------------------
    @classmethod
    def load(
        cls, name: str, *, device: str = "auto", dtype: str = "auto", max_batch: int = 16, draft_tokens: int = 4
    ) -> Engine:
        """Load any causal LM by hub id or local path (``from_pretrained``).

        The loading runs on a short-lived thread: casting weights runs parallel ops, and a
        long-lived caller thread (a Celery pool thread) would keep its OpenMP team, which
        slows every engine step (see generation/threads.py)."""
        return on_short_lived_thread(cls._load, name, device, dtype, max_batch, draft_tokens)

    @classmethod
    def _load(cls, name: str, device: str, dtype: str, max_batch: int, draft_tokens: int) -> Engine:
        hf_logging.disable_progress_bar()
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        tokenizer = AutoTokenizer.from_pretrained(name)
        options: dict[str, Any] = {"dtype": torch_dtype}
        if torch_device.type == "cpu":
            # Measured here at 16 sequences: eager attention 8 ms a step against 11 for SDPA,
            # which falls back to a slow path with a padding mask.
            options["attn_implementation"] = "eager"
        config = AutoConfig.from_pretrained(name)
        if getattr(config, "activation_function", None) == "gelu_new":
            # The same tanh approximation as one native kernel: prefill ~2x, decode ~1.3x faster.
            options["activation_function"] = "gelu_pytorch_tanh"
        model = AutoModelForCausalLM.from_pretrained(name, **options)
        if dtype == "auto" and torch_device.type == "cpu" and cpu_prefers_bf16(model):
            model = model.to(torch.bfloat16)  # type: ignore[arg-type]
        model.to(torch_device)  # type: ignore[arg-type]
        model.eval()
        logger.info("loaded %s on %s as %s", name, torch_device, torch_dtype)
        return cls(model, tokenizer, name=name, max_batch=max_batch, draft_tokens=draft_tokens)

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
        self._inbox.put(stream)
        return stream

    def generate(self, prompt_ids: list[int], params: SamplingParams) -> str:
        stream = self.submit(prompt_ids, params)
        for _ in stream:
            pass
        return stream.text

    def call_soon(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the scheduler thread before its next step (a query embedding:
        there no second OpenMP team competes with the steps; see generation/threads.py and
        ``Embedder``). Its exceptions are logged, not raised."""
        if self._closed.is_set():
            raise GenerationError("the engine is closed", retryable=True)
        self._calls.put(function)
        self._inbox.put(None)

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=10)

    @property
    def active(self) -> int:
        return len(self._seqs)

    @property
    def waiting(self) -> int:
        with self._inbox.mutex:
            return sum(item is not None for item in self._inbox.queue)

    # --- scheduler ------------------------------------------------------------------------------
    def _run(self) -> None:
        # This thread owns the intra-op thread team that every step uses (see generation/threads.py).
        torch.set_num_threads(intra_op_default())
        with torch.inference_mode():
            while not self._closed.is_set():
                try:
                    self._tick()
                except Exception:  # keep the thread alive: fail the batch, not the worker
                    logger.exception("engine step failed; failing the active batch")
                    self._fail_all(GenerationError("the model failed", retryable=True))
        self._fail_all(GenerationError("the engine is closed", retryable=True))
        self._run_calls()
        while not self._inbox.empty():
            stream = self._inbox.get_nowait()
            if stream is not None:
                stream._finish("closed", GenerationError("closed", retryable=True))

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

    def _tick(self) -> None:
        self._run_calls()
        new = self._admit()
        if new:
            self._prefill(new)
            self._yield_to_first_pieces()
        if self._seqs:
            self._decode_step()
            self._yield_to_first_pieces()

    def _yield_to_first_pieces(self) -> None:
        """Pause briefly after a step that gave some reply its first piece, while the batch is
        small. Otherwise the next step's two-thread team keeps both cores busy, and the task
        thread that takes the piece, the publisher thread and the web process's relay each
        wait for a core: measured here, one customer's first delta came 4-5 ms sooner with a
        3 ms pause (alternating runs). A large batch is not paused: there the steps are the
        work, and a pause would cost every reply in it. On a GPU the steps leave the cores
        free, so there is no pause."""
        if self._first_pieces and 0 < len(self._seqs) <= FIRST_PIECE_PAUSE_MAX_ROWS and self.device.type == "cpu":
            time.sleep(FIRST_PIECE_PAUSE_S)
        self._first_pieces = 0

    def _admit(self) -> list[TokenStream]:
        capacity = (self.max_batch if self._batching_ok else 1) - len(self._seqs)
        new: list[TokenStream] = []
        if capacity <= 0:
            return new
        if not self._seqs:
            try:
                first = self._inbox.get(timeout=0.1)
            except queue.Empty:
                return new
            if first is None:
                return new  # a call to run: the next tick runs it
            new.append(first)
        while len(new) < capacity:
            try:
                stream = self._inbox.get_nowait()
            except queue.Empty:
                break
            if stream is not None:
                new.append(stream)
        return [s for s in new if not self._drop_if_cancelled(s)]

    def _drop_if_cancelled(self, stream: TokenStream) -> bool:
        if stream.cancelled:
            stream._finish("cancelled")
            return True
        return False

    def _shared_prefix(self, streams: list[TokenStream]) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Prefix caching: the length and KV of the prompt start these streams share with the
        cached prefix (the system instructions, typically), computing it when needed.

        The cached prefix is the longest common start of the last prompts seen; it is reused
        when every new prompt starts with at least ``PREFIX_MIN_TOKENS`` of it."""
        if not self._prefix_ok:
            return 0, []
        prompts = [s.prompt_ids for s in streams]
        shortest = min(len(p) for p in prompts) - 1  # every row keeps at least one token to prefill
        cached = min(_common_prefix([self._prefix_ids, *prompts]), shortest)
        if cached >= PREFIX_MIN_TOKENS:
            return cached, [(k[:, :, :cached], v[:, :, :cached]) for k, v in self._prefix_kv]
        candidates = [*prompts, self._last_prompt] if len(prompts) == 1 else prompts
        length = min(_common_prefix(candidates), shortest)
        self._last_prompt = prompts[-1]
        if length < PREFIX_MIN_TOKENS:
            return 0, []
        ids = torch.tensor([prompts[0][:length]], device=self.device)
        out = self.model(input_ids=ids, use_cache=True, **self._last_logits)
        cache = _output_cache(out)
        if not isinstance(cache, DynamicCache) or not all(type(layer) is DynamicLayer for layer in cache.layers):
            self._prefix_ok = False
            return 0, []
        self._prefix_ids = list(prompts[0][:length])
        self._prefix_kv = [_kv(layer) for layer in _layers(cache)]
        self.prefix_builds += 1
        return length, self._prefix_kv

    def _prefill(self, streams: list[TokenStream]) -> None:
        shared, prefix_kv = self._shared_prefix(streams)
        lengths = [len(s.prompt_ids) - shared for s in streams]
        width = max(lengths)
        ids = torch.full((len(streams), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(streams), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for row, stream in enumerate(streams):
            ids[row, width - lengths[row] :] = torch.tensor(stream.prompt_ids[shared:])
            mask[row, shared + width - lengths[row] :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        past: dict[str, Any] = {}
        if shared:
            rows = len(streams)
            past[self._cache_kwarg] = DynamicCache(
                ddp_cache_data=[
                    (k.expand(rows, -1, -1, -1).contiguous(), v.expand(rows, -1, -1, -1).contiguous())
                    for k, v in prefix_kv
                ]
            )
            self.prefix_hits += rows
        now = time.monotonic()
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=True,
            **past,
            **self._last_logits,
        )
        cache = _output_cache(out)
        if not isinstance(cache, DynamicCache) or not all(type(layer) is DynamicLayer for layer in cache.layers):
            # A cache we cannot splice (sliding windows, hybrid models): one at a time.
            self._batching_ok = False
            if len(streams) > 1:
                raise RuntimeError("this model's cache cannot be batched")
        seqs = []
        for stream in streams:
            seq = _Seq(stream=stream, deadline=now + stream.params.timeout_s)
            if stream.params.seed is not None:
                seq.generator = torch.Generator(device="cpu").manual_seed(stream.params.seed)
            stream.stats.started_at = now
            if self.draft_tokens:
                self._index_prompt(seq)
            seqs.append(seq)
        logits = out.logits[:, -1:, :].float()
        self._merge(seqs, cache, mask.to(self.device))
        self._emit_picks(seqs, logits, [[] for _ in seqs], first_row=len(self._seqs) - len(seqs))

    def _merge(self, seqs: list[_Seq], cache: DynamicCache, mask: torch.Tensor) -> None:
        if self._cache is None or self._mask is None or not self._seqs:
            cache.layers = [GrowableLayer(*_kv(layer)) for layer in _layers(cache)]
            self._seqs, self._cache, self._mask = list(seqs), cache, mask
            return
        old_len, new_len = self._mask.shape[1], mask.shape[1]
        width = max(old_len, new_len)
        for old_layer, new_layer in zip(_layers(self._cache), _layers(cache), strict=True):
            old_k, old_v = _kv(old_layer)
            new_k, new_v = _kv(new_layer)
            _adopt(
                old_layer,
                torch.cat([_left_pad(old_k, width), _left_pad(new_k, width)], dim=0),
                torch.cat([_left_pad(old_v, width), _left_pad(new_v, width)], dim=0),
            )
        self._mask = torch.cat([_left_pad_mask(self._mask, width), _left_pad_mask(mask, width)], dim=0)
        self._seqs.extend(seqs)

    def _decode_step(self) -> None:
        assert self._cache is not None and self._mask is not None
        self._evict([i for i, s in enumerate(self._seqs) if s.stream.cancelled], "cancelled")
        if not self._seqs:
            return
        # Drafts leave holes in the cache, which only the batchable (DynamicLayer) caches take.
        drafts = [self._draft(s) if self._batching_ok else [] for s in self._seqs]
        width = self._draft_width(drafts)
        for seq, draft in zip(self._seqs, drafts, strict=True):
            if draft and width == 1 and seq.draft_rate < DRAFT_PRIOR:
                # An unchecked guess: trust drafts a little more, so that a sequence whose
                # drafts failed before is tried again later.
                seq.draft_rate += 0.05 * (DRAFT_PRIOR - seq.draft_rate)
            del draft[width - 1 :]
        tokens = torch.tensor(
            [
                [s.next_token, *d, *[self.pad_id] * (width - 1 - len(d))]
                for s, d in zip(self._seqs, drafts, strict=True)
            ],
            device=self.device,
        )
        # Each row feeds its next token and its draft; the padding after a short draft is masked.
        columns = torch.arange(width, device=self.device)
        positions = (self._mask.sum(-1, keepdim=True) + columns).clamp(max=self.context_window - 1)
        lengths = torch.tensor([1 + len(d) for d in drafts], device=self.device)
        block = (columns < lengths[:, None]).to(self._mask.dtype)
        self._mask = torch.cat([self._mask, block], dim=1)
        if self._fast_decode is not None:
            logits = self._fast_decode(tokens, positions, self._mask, _layers(self._cache))
        else:
            out = self.model(
                input_ids=tokens,
                attention_mask=self._mask,
                position_ids=positions,
                use_cache=True,
                **{self._cache_kwarg: self._cache},
            )
            self._cache = _output_cache(out)
            logits = out.logits
        self.steps += 1
        kept = self._emit_picks(list(self._seqs), logits.float(), drafts)
        if any(k < width for k in kept):
            # Rejected draft positions stay in the cache as holes that the mask hides.
            assert self._mask is not None
            live = torch.tensor(kept, device=self.device)
            self._mask[:, -width:] = (columns < live[:, None]).to(self._mask.dtype)
            self._compact()

    def _emit_picks(
        self, seqs: list[_Seq], logits: torch.Tensor, drafts: list[list[int]], *, first_row: int = 0
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
            self.drafted += len(draft)
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
                    self.accepted += 1
            except Exception as exc:  # one bad sequence fails alone
                logger.exception("sequence failed")
                finished.append((row, "error", GenerationError(str(exc), retryable=False)))
            if draft:
                accepted = keep - 1
                observed = 1.0 if accepted == len(draft) else accepted / (accepted + 1)
                seq.draft_rate = 0.7 * seq.draft_rate + 0.3 * observed
            kept.append(keep)
        for row, reason, error in finished:
            self._seqs[row].stream._finish(reason, error)
        self._evict([row for row, _, _ in finished], None)
        gone = {row - first_row for row, _, _ in finished}
        return [k for offset, k in enumerate(kept) if offset not in gone]

    # --- prompt-lookup drafting ---------------------------------------------------------------
    def _index_prompt(self, seq: _Seq) -> None:
        seq.context = list(seq.stream.prompt_ids)
        for end in range(DRAFT_NGRAM, len(seq.context) + 1):
            seq.continuations[tuple(seq.context[end - DRAFT_NGRAM : end])] = end

    def _observe(self, seq: _Seq, token: int) -> None:
        """Add a generated token; remember where its n-gram went on before, if anywhere."""
        seq.context.append(token)
        end = len(seq.context)
        if end < DRAFT_NGRAM:
            return
        gram = tuple(seq.context[end - DRAFT_NGRAM :])
        seq.draft_from = seq.continuations.get(gram)
        seq.continuations[gram] = end

    def _draft(self, seq: _Seq) -> list[int]:
        """The tokens that followed the reply's last n-gram where it occurred before (in the
        prompt, typically a knowledge snippet being quoted): a guess the next step checks."""
        if not self.draft_tokens or seq.draft_from is None:
            return []
        room = min(
            self.draft_tokens,
            seq.stream.params.max_new_tokens - len(seq.generated) - 1,
            self.context_window - 2 - len(seq.context),
        )
        return seq.context[seq.draft_from : seq.draft_from + room] if room > 0 else []

    def _draft_width(self, drafts: list[list[int]]) -> int:
        """Positions a row for this step: the width whose expected tokens per unit of cost is
        highest, given each row's draft and how often its drafts were accepted. Drafts that
        keep failing (a model that does not quote its prompt) thus stop costing anything."""
        longest = max(len(d) for d in drafts)
        if longest == 0:
            return 1
        rows = len(drafts)
        best_width, best_value = 1, 1.0  # one position a row: one token a row per unit
        expected = float(rows)
        for width in range(2, longest + 2):
            # Draft token j (from 1) is kept with probability rate**j: the j-1 before it must be.
            depth = width - 1
            expected += sum(seq.draft_rate**depth for seq, d in zip(self._seqs, drafts, strict=True) if len(d) >= depth)
            value = expected / (rows * (1 + DRAFT_POSITION_COST * (width - 1)))
            if value > best_value:
                best_width, best_value = width, value
        return best_width

    def _compact(self) -> None:
        """Squeeze out the cache columns that rejected drafts left, once they are many."""
        assert self._cache is not None and self._mask is not None
        used = int(self._mask.sum(-1).max().item())
        total = self._mask.shape[1]
        if total - used < max(COMPACT_MIN_HOLES, total // COMPACT_SHARE):
            return
        self.compactions += 1
        # A stable sort puts each row's unused columns first, in order, and its used ones last.
        order = torch.sort(self._mask, dim=1, stable=True).indices[:, total - used :]
        self._mask = self._mask.gather(1, order)
        for layer in _layers(self._cache):
            keys, values = _kv(layer)
            index = order[:, None, :, None].expand(keys.shape[0], keys.shape[1], used, keys.shape[3])
            _adopt(layer, keys.gather(2, index), values.gather(2, index))

    def _pick(self, seq: _Seq, logits: torch.Tensor, greedy: int) -> int:
        params = seq.stream.params
        n = params.no_repeat_ngram_size
        banned: set[int] = set()
        if n > 0 and len(seq.generated) >= n - 1:
            banned = seq.ngrams.get(tuple(seq.generated[len(seq.generated) - n + 1 :]), set())
        if params.temperature <= 0:
            if greedy not in banned:
                return greedy
            logits = logits.clone()
            logits[list(banned)] = float("-inf")
            return int(torch.argmax(logits).item())
        logits = logits / params.temperature
        if banned:
            logits = logits.clone()
            logits[list(banned)] = float("-inf")
        probs = torch.softmax(logits, dim=-1)
        if params.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = sorted_probs.cumsum(-1) - sorted_probs < params.top_p
            sorted_probs = sorted_probs * keep
            probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
        return int(torch.multinomial(probs.cpu(), 1, generator=seq.generator).item())

    def _accept(self, seq: _Seq, token: int, now: float) -> str | None:
        """Record ``token``; returns a finish reason or ``None`` to go on."""
        stream, params = seq.stream, seq.stream.params
        if token < 0 or token >= self.model.config.vocab_size:
            raise ValueError(f"token id {token} is outside the vocabulary")
        if token in self.eos_ids:
            self._emit(seq, final=True)
            return "stop"
        n = params.no_repeat_ngram_size
        seq.generated.append(token)
        stream.token_ids.append(token)
        if self.draft_tokens:
            self._observe(seq, token)
        if n > 0 and len(seq.generated) >= n:
            gram = tuple(seq.generated[-n:])
            seq.ngrams.setdefault(gram[:-1], set()).add(gram[-1])
        seq.next_token = token
        stream.stats.completion_tokens = len(seq.generated)
        if stream.stats.first_token_at is None:
            stream.stats.first_token_at = now
        piece = self._detokenize(seq)
        if piece:
            seq.text += piece
            if self._check_stop(seq):
                return "stop"
            self._emit(seq, final=False)
        if len(seq.generated) >= params.max_new_tokens:
            self._emit(seq, final=True)
            return "length"
        if len(stream.prompt_ids) + len(seq.generated) >= self.context_window - 1:
            self._emit(seq, final=True)
            return "length"
        if now > seq.deadline:
            self._emit(seq, final=True)
            return "timeout"
        return None

    def _detokenize(self, seq: _Seq) -> str:
        """Incremental decoding that never splits a multi-byte character (as TGI does)."""
        decode = self.tokenizer.decode
        prefix = str(decode(seq.generated[seq.prefix_offset : seq.read_offset], skip_special_tokens=True))
        full = str(decode(seq.generated[seq.prefix_offset :], skip_special_tokens=True))
        if len(full) > len(prefix) and not full.endswith("\ufffd"):
            seq.prefix_offset, seq.read_offset = seq.read_offset, len(seq.generated)
            return full[len(prefix) :]
        return ""

    def _check_stop(self, seq: _Seq) -> bool:
        stops = seq.stream.params.stop
        if not stops:
            return False
        longest = max(len(s) for s in stops)
        window_start = max(0, seq.emitted - longest)
        hits = [i for i in (seq.text.find(s, window_start) for s in stops) if i >= 0]
        if hits:
            seq.text = seq.text[: min(hits)]
            self._emit(seq, final=True)
            return True
        return False

    def _emit(self, seq: _Seq, *, final: bool) -> None:
        end = len(seq.text) if final else len(seq.text) - _held_back(seq.text, seq.stream.params.stop)
        if final:
            seq.text = seq.text.rstrip()
            end = len(seq.text)
        if end <= seq.emitted:
            return
        piece = seq.text[seq.emitted : end]
        if not seq.stream.text:
            piece = piece.lstrip()  # the reply starts at its first visible character
            if not piece:
                seq.emitted = end
                return
        seq.emitted = end
        if not seq.stream.text:
            self._first_pieces += 1
        seq.stream._put(piece)

    def _evict(self, rows: list[int], reason: str | None) -> None:
        if not rows:
            return
        if reason:
            for row in rows:
                self._seqs[row].stream._finish(reason)
        gone = set(rows)
        keep = [i for i in range(len(self._seqs)) if i not in gone]
        self._seqs = [self._seqs[i] for i in keep]
        if not keep:
            self._cache, self._mask = None, None
            return
        assert self._cache is not None and self._mask is not None
        index = torch.tensor(keep, device=self.device)
        mask = self._mask.index_select(0, index)
        # Columns that are padding in every remaining row are dead weight: cut them.
        live = torch.nonzero(mask.any(dim=0), as_tuple=False)
        start = int(live[0].item()) if live.numel() else 0
        self._mask = mask[:, start:]
        for layer in _layers(self._cache):
            keys, values = _kv(layer)
            _adopt(layer, keys.index_select(0, index)[:, :, start:, :], values.index_select(0, index)[:, :, start:, :])

    def _fail_all(self, error: GenerationError) -> None:
        for seq in self._seqs:
            seq.stream._finish("error", error)
        self._seqs, self._cache, self._mask = [], None, None


class GrowableLayer(DynamicLayer):
    """A ``DynamicLayer`` that appends into a buffer with spare room instead of ``torch.cat``.

    ``DynamicLayer`` copies the whole cache on every decode step; at 16 sequences that copy
    was half of the responder's step time here (``aten::cat`` 53% in ``torch.profiler``).
    This layer grows its buffer by half again when full, so a step writes one position.
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


def gpt2_decoder(model: Any) -> Any:
    """A lean decode step for GPT-2 models with eager attention (the offline responder), or
    ``None`` for any other model, which decodes through its own ``forward``.

    The same operations as ``GPT2LMHeadModel.forward`` for one new token per row, without its
    per-call machinery (4-D mask building, output records, cache dispatch): the responder's
    step at 16 sequences 3.8 -> 2.9 ms here, with identical logits (tested against
    ``model.generate``).
    """
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
        tokens: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor, layers: list[DynamicLayer]
    ) -> torch.Tensor:
        """Logits for ``tokens`` (rows x width new positions) after the cached ones."""
        rows, width = tokens.shape
        hidden = transformer.wte(tokens) + transformer.wpe(positions)
        # The additive mask HF's eager attention uses: 0 where attended, the dtype's minimum
        # on padding and, among the new positions, on later ones (causal).
        allowed = mask[:, None, None, :].bool()
        if width > 1:
            total = mask.shape[1]
            causal = torch.ones((width, total), dtype=torch.bool, device=mask.device).tril(total - width)
            allowed = allowed & causal
        bias = (~allowed).to(hidden.dtype) * torch.finfo(hidden.dtype).min
        for block, layer in zip(transformer.h, layers, strict=True):
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


def _layers(cache: DynamicCache) -> list[DynamicLayer]:
    """The cache's layers; ``_prefill`` has checked that they are all plain ``DynamicLayer``."""
    return cast(list[DynamicLayer], cache.layers)


def _adopt(layer: DynamicLayer, keys: torch.Tensor, values: torch.Tensor) -> None:
    if isinstance(layer, GrowableLayer):
        layer.adopt(keys, values)
    else:
        layer.keys, layer.values = keys, values


def _kv(layer: DynamicLayer) -> tuple[torch.Tensor, torch.Tensor]:
    assert layer.keys is not None and layer.values is not None
    return layer.keys, layer.values


def _output_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could still grow into a stop string."""
    held = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                held = max(held, k)
                break
    return held


def _common_prefix(sequences: list[list[int]]) -> int:
    if not sequences or not all(sequences):
        return 0
    length = 0
    for items in zip(*sequences, strict=False):
        if any(item != items[0] for item in items):
            break
        length += 1
    return length


def _left_pad(tensor: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - tensor.shape[2]
    if missing <= 0:
        return tensor
    pad = torch.zeros(
        (tensor.shape[0], tensor.shape[1], missing, tensor.shape[3]),
        dtype=tensor.dtype,
        device=tensor.device,
    )
    return torch.cat([pad, tensor], dim=2)


def _left_pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - mask.shape[1]
    if missing <= 0:
        return mask
    pad = torch.zeros((mask.shape[0], missing), dtype=mask.dtype, device=mask.device)
    return torch.cat([pad, mask], dim=1)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"GENERATION_DEVICE must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("GENERATION_DEVICE asks for CUDA but no GPU is visible")
    return torch.device(device)


# Measured on a 2-core CPU with native bf16 (AVX512-BF16): bf16 makes a 124M GPT-2's step at
# 16 sequences 2.9x faster (151 -> 52 ms) but a 3M one no faster (per-op overhead dominates);
# fp32 below this size, and always on CPUs that only emulate bf16 (see cpu_has_native_bf16).
CPU_BF16_MIN_PARAMETERS = 50_000_000


def cpu_prefers_bf16(model: Any) -> bool:
    if not cpu_has_native_bf16():
        return False
    return sum(p.numel() for p in model.parameters()) >= CPU_BF16_MIN_PARAMETERS


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in table:
        raise ValueError(f"GENERATION_DTYPE must be auto, float32, bfloat16 or float16, got {dtype!r}")
    return table[dtype]
