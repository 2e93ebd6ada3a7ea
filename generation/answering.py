"""Grounded answers: decide whether and how to answer, generate, verify, and fall back.

The policy, in order:
1. "Ignore your instructions"-style messages get a fixed, polite decline.
2. A customer who asks for a person gets a handoff at once.
3. Small talk (greetings, thanks) is answered by the model without snippets.
4. Retrieval confidence below ``RETRIEVAL_MIN_CONFIDENCE``: an honest handoff (unless the match
   is only a little below and clearly ahead of every other article: then a tentative answer).
5. Otherwise the model writes several candidates from the best snippets; the reply streams
   word by word through a fact gate (no number, price, time, email or name that the snippets
   do not contain ever reaches the customer); the best-supported candidate is kept, and if none
   is supported the most relevant snippet sentences are quoted instead. Between the two
   confidence thresholds the answer comes with a handoff, so a person checks it.
When the offline responder is not built yet, step 5 quotes the snippets directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings

from generation import facts, retrieval, runtime
from generation import prompt as prompts
from generation.engine import Engine, SamplingParams, StreamStats, TokenStream
from generation.retrieval import Embedder, Hit, KnowledgeIndex, confidence, split_sentences, tokenize

HANDOFF_REQUESTED = "Of course. A member of our team will take over this conversation and reply here shortly."
HANDOFF_UNKNOWN = (
    "I'm sorry, I don't have a reliable answer to that. A member of our team will take over "
    "this conversation and reply here shortly."
)
HANDOFF_RECORD = (
    "I can't look up individual orders, invoices or accounts myself. A member of our team will take "
    "over this conversation and reply here shortly."
)
TENTATIVE_SUFFIX = (
    " I'm not completely sure this answers your question, so a member of our team will also take a look and reply here."
)
EMPTY_HISTORY = "How can I help you today?"

_HUMAN = re.compile(
    r"\b(?:human|real person|someone real|(?:talk|speak|chat) (?:to|with) (?:a|an|someone|somebody|"
    r"a real|your)\b.*\b(?:person|human|agent|representative|someone|somebody|staff|team)|"
    r"(?:talk|speak|chat) to someone|representative|live agent|operator)\b",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(ignore|disregard|forget) (?:all |any |your |the |previous |prior |above |earlier )*"
    r"(instructions|rules|prompt|guidelines)|system prompt|your (?:instructions|prompt|rules)|"
    r"developer mode|jailbreak|you are now|pretend (?:to be|you are)|act as (?:an?|the) ",
    re.IGNORECASE,
)
# An order, invoice, ticket or account number: "#4521", "INV-2291", "SO12345", "55123".
# Money ("$300") and short numbers ("10 days") are not references.
_RECORD = re.compile(r"(?<![\w$€£])(?:#\s?\d{3,}|[a-z]{1,5}-?\d{3,}|\d{5,})(?![\w.,]\d)", re.IGNORECASE)


def record_references(text: str) -> list[str]:
    """Identifiers of individual records in ``text`` (see ``_RECORD``)."""
    return [match.replace(" ", "") for match in _RECORD.findall(text)]


SMALLTALK_EXEMPLARS = [
    "Hello",
    "Hi there",
    "Good morning",
    "Hey, how are you?",
    "Hello, how are you doing today?",
    "Is anyone there?",
    "Thank you",
    "Thanks a lot, that helps",
    "Great, thanks!",
    "Goodbye",
    "Bye, have a nice day",
    "Who are you?",
    "Are you a robot?",
    "ok",
    "cool",
]
SMALLTALK_MIN_COSINE = 0.62
QUOTE_WHOLE_SENTENCES = 3
# Articles whose retrieval scores are this close are treated as a tie (see ``_quote``).
AMBIGUOUS_MARGIN = 0.03
# A match up to this far below the minimum confidence is answered tentatively when the top
# article leads the runner-up by at least STANDS_OUT_MARGIN (see ``_stands_out``).
WEAK_MATCH_BELOW_MINIMUM = 0.10
STANDS_OUT_MARGIN = 0.10


_smalltalk_cache: dict[str, np.ndarray] = {}


def _smalltalk_vectors(embedder: Any) -> np.ndarray:
    if embedder.name not in _smalltalk_cache:
        _smalltalk_cache[embedder.name] = embedder.encode(SMALLTALK_EXEMPLARS)
    return _smalltalk_cache[embedder.name]


@dataclass
class Answer:
    text: str
    mode: str  # model | quote | smalltalk | handoff | declined
    sources: list[dict[str, Any]] = field(default_factory=list)
    grounded: bool = False
    handoff: bool = False
    confidence: float = 0.0
    candidates: list[str] = field(default_factory=list)
    stats: StreamStats | None = None
    # False when the customer saw streamed text that the final message replaces.
    stream_matches: bool = True


Forward = Callable[[str], None]
StopCheck = Callable[[], bool]


def prefetch_query(question: str) -> None:
    """Start embedding the customer's ``question`` before ``Responder.answer`` asks for its
    vector: a worker calls this as soon as it takes the task, and claims the reply and reads
    the index and the history meanwhile. Questions declined or handed off before retrieval
    are left alone."""
    if question.strip() and not _INJECTION.search(question) and not _HUMAN.search(question):
        Embedder.get().encode_query_soon(question)


def responder_for_worker() -> Responder:
    """The responder as the worker runs it: the live index and, once it is loaded, the engine."""
    try:
        engine: Engine | None = runtime.get_engine()
    except runtime.ModelUnavailable:
        engine = None  # quote the knowledge base until the responder is trained
    return Responder(
        index=retrieval.get_index(),
        engine=engine,
        company=settings.COMPANY_NAME,
        min_confidence=settings.RETRIEVAL_MIN_CONFIDENCE,
        sure_confidence=settings.RETRIEVAL_SURE_CONFIDENCE,
        candidates=settings.GENERATION_CANDIDATES,
        max_new_tokens=settings.GENERATION_MAX_NEW_TOKENS,
        timeout_s=settings.GENERATION_TIMEOUT,
        extractive=not settings.GENERATION_MODEL,
    )


def _stands_out(hits: Sequence[Hit], conf: float, minimum: float) -> bool:
    """A weak match still worth a tentative answer: just under the minimum, and clearly ahead
    of every other article. On the evaluation sets this answered four more questions (one per
    demo variant, two on the second base) for one more unanswerable question answered
    tentatively instead of handed off outright (docs/benchmarks.md)."""
    if conf < minimum - WEAK_MATCH_BELOW_MINIMUM:
        return False
    return len(hits) < 2 or hits[0].score - hits[1].score >= STANDS_OUT_MARGIN


def _noop(_: str) -> None:
    return None


def _never() -> bool:
    return False


def _fixed(text: str, mode: str, forward: Forward, **fields: Any) -> Answer:
    """A reply the bot writes itself; it streams like any other."""
    forward(text)
    return Answer(text, mode, **fields)


class Responder:
    """Answers one customer turn. Thread-safe: holds no per-call state."""

    def __init__(
        self,
        *,
        index: KnowledgeIndex,
        engine: Engine | None,
        company: str,
        min_confidence: float,
        sure_confidence: float,
        candidates: int = 3,
        max_new_tokens: int = 120,
        snippets: int = 1,
        timeout_s: float = 120.0,
        extractive: bool = True,
    ) -> None:
        self.index = index
        self.engine = engine
        self.company = company
        self.min_confidence = min_confidence
        self.sure_confidence = sure_confidence
        self.candidates = candidates
        self.max_new_tokens = max_new_tokens
        self.snippets = snippets
        self.timeout_s = timeout_s
        # The small offline responder may only restate its snippet (it splices passages
        # otherwise); a real instruct model may paraphrase, under the fact gate alone.
        self.extractive = extractive
        self._smalltalk = _smalltalk_vectors(index.embedder)

    # --- policy ------------------------------------------------------------------------------
    def answer(
        self, history: Sequence[prompts.Turn], forward: Forward = _noop, should_stop: StopCheck = _never
    ) -> Answer:
        """Answer the last turn of ``history``; ``forward`` gets the text as it may be shown.

        ``should_stop`` is polled while generating: when it says so, the reply ends with the
        text shown so far (mode ``stopped``).
        """
        question = history[-1].text if history else ""
        if not question.strip():
            return _fixed(EMPTY_HISTORY, "smalltalk", forward)
        if _INJECTION.search(question):
            text = (
                f"I can only help with questions about {self.company}: our products, orders and "
                "policies. I can't share or change how I work. What can I help you with?"
            )
            return _fixed(text, "declined", forward)
        if _HUMAN.search(question):
            return _fixed(HANDOFF_REQUESTED, "handoff", forward, handoff=True)
        if any(not self.index.mentions(code) for code in record_references(question)):
            # "Where is order 55123?": about one customer's record, which only staff can look up.
            return _fixed(HANDOFF_RECORD, "handoff", forward, handoff=True)
        vector = self.index.embedder.encode_query(question)  # once, for both uses
        hits = self.index.search(question, k=3, vector=vector)
        conf = confidence(hits)
        if self._is_smalltalk(vector, conf):
            return self._smalltalk_answer(history, forward, should_stop)
        if conf < self.min_confidence and not _stands_out(hits, conf, self.min_confidence):
            return _fixed(HANDOFF_UNKNOWN, "handoff", forward, handoff=True, confidence=conf)
        close = [h for h in hits if h.score >= hits[0].score - AMBIGUOUS_MARGIN][:2]
        tentative = conf < self.sure_confidence
        if self.engine is None or (self.extractive and len(close) > 1):
            # Two articles retrieval cannot tell apart: the offline responder would restate
            # only one of them, so the sentences that answer best, from either, are quoted.
            answer = self._quote(question, close, forward, vector)
        else:
            answer = self._generate(history, close[: max(1, self.snippets)], forward, should_stop, vector)
            if answer.mode == "stopped":
                return answer
        answer.confidence = conf
        if tentative:
            answer.handoff = True
            answer.text += TENTATIVE_SUFFIX
            if answer.stream_matches:
                forward(TENTATIVE_SUFFIX)
        return answer

    def _is_smalltalk(self, vector: np.ndarray, conf: float) -> bool:
        best = float(np.max(self._smalltalk @ vector)) if len(self._smalltalk) else 0.0
        return best >= SMALLTALK_MIN_COSINE and best > conf - 0.1

    # --- answering ------------------------------------------------------------------------------
    def _smalltalk_answer(self, history: Sequence[prompts.Turn], forward: Forward, should_stop: StopCheck) -> Answer:
        if self.engine is None:
            text = "Hello! I'm the virtual assistant. What can I help you with today?"
            forward(text)
            return Answer(text, "smalltalk")
        support = self._support(history, [])
        stream = self._submit(history, [], SamplingParams(max_new_tokens=60, timeout_s=self.timeout_s))
        gate = facts.FactGate(support, forward)
        for _ in stream:
            gate.feed(stream.text)
            if should_stop():
                return self._stopped([stream], gate)
        text = stream.text.strip()
        if text and gate.finish(stream.text):
            return Answer(text, "smalltalk", stats=stream.stats)
        text = "Hello! What can I help you with today?"
        return Answer(text, "smalltalk", stats=stream.stats, stream_matches=gate.sent == 0)

    def _generate(
        self,
        history: Sequence[prompts.Turn],
        hits: Sequence[Hit],
        forward: Forward,
        should_stop: StopCheck,
        vector: np.ndarray,
    ) -> Answer:
        snippets = [prompts.Snippet(h.title, h.body) for h in hits]
        support = self._support(history, hits)
        source_ngrams = set(facts.word_ngrams(" ".join(h.body for h in hits))) if self.extractive else None
        built = self._prompt(history, snippets, self._params(None).max_new_tokens)
        greedy = self._submit_built(built, self._params(None))
        gate = facts.FactGate(support, forward, source_ngrams)
        for _ in greedy:
            if not gate.feed(greedy.text):
                greedy.cancel()  # an unsupported fact: stop streaming this one
            if should_stop():
                return self._stopped([greedy], gate)
        gate.finish(greedy.text)
        texts = [greedy.text.strip()]
        best = self._best_supported(texts, support, hits, source_ngrams)
        if best is None and self.candidates > 1:
            # Only when the streamed answer fails its checks are alternatives sampled (batched
            # together): most replies cost one sequence, not ``candidates`` of them.
            others = [self._submit_built(built, self._params(seed)) for seed in range(1, self.candidates)]
            for stream in others:
                for _ in stream:
                    if should_stop():
                        return self._stopped([greedy, *others], gate)
                texts.append(stream.text.strip())
            best = self._best_supported(texts, support, hits, source_ngrams)
        sources = [{"title": h.title, "score": round(h.score, 3)} for h in hits]
        if best is None:
            quote = self._quote(history[-1].text, hits, _noop, vector)
            quote.candidates, quote.stats, quote.stream_matches = texts, greedy.stats, gate.sent == 0
            if quote.stream_matches:
                forward(quote.text)
            return quote
        return Answer(
            texts[best],
            "model",
            sources=sources,
            grounded=True,
            candidates=texts,
            stats=greedy.stats,
            stream_matches=best == 0 and not gate.broken,
        )

    def _stopped(self, streams: Sequence[TokenStream], gate: facts.FactGate) -> Answer:
        for stream in streams:
            stream.cancel()
        text = streams[0].text[: gate.sent].strip() if gate.sent else ""
        return Answer(text or "(stopped)", "stopped", stats=streams[0].stats, stream_matches=bool(text))

    def _best_supported(
        self,
        texts: Sequence[str],
        support: facts.Support,
        hits: Sequence[Hit],
        source_ngrams: set[tuple[str, ...]] | None,
    ) -> int | None:
        """Index of the best candidate (greedy wins ties), or ``None``.

        Out: candidates that state an unsupported fact, repeat themselves, hand off although
        retrieval was confident, or (extractive mode) splice passages together. Among the
        rest, the one whose words the snippets use most.
        """
        vocabulary = set(tokenize(" ".join(h.title + " " + h.body for h in hits)))
        best, best_score = None, -1.0
        for i, text in enumerate(texts):
            if not text or "take over" in text.lower() or facts.unsupported_facts(text, support):
                continue
            if facts.repeats_itself(text):
                continue
            if source_ngrams is not None and facts.novel_ngrams(text, source_ngrams) > 1:
                continue
            words = tokenize(text)
            score = sum(w in vocabulary for w in words) / max(1, len(words))
            if score > best_score + 1e-9:
                best, best_score = i, score
        if source_ngrams is None and best is not None and best_score < 0.5:
            return None  # mostly words the snippets don't use: not an answer from them
        return best

    def _quote(self, question: str, hits: Sequence[Hit], forward: Forward, vector: np.ndarray) -> Answer:
        """The knowledge-base sentences that answer the question best, quoted.

        One article: a short one whole (every fact in context), a longer one by its sentences
        closest to the question. Several near-tied articles: the best sentences from any of
        them, each under its article's title, the article with the best sentence first.
        """
        scored: list[tuple[float, int, int, str]] = []  # (score, hit, position, sentence)
        for rank, hit in enumerate(hits):
            sentences, vectors = self.index.sentences(hit.article_id)
            if not sentences or len(vectors) != len(sentences):
                sentences = split_sentences(hit.body) or [hit.body]
                vectors = self.index.embedder.encode(sentences)
            scores = vectors @ vector
            if len(hits) == 1 and len(sentences) <= QUOTE_WHOLE_SENTENCES:
                scores = np.full(len(sentences), 1.0)  # quoted whole
            scored += [(float(scores[i]), rank, i, sentences[i]) for i in range(len(sentences))]
        best = max(score for score, *_ in scored)
        picked = sorted(scored, key=lambda item: -item[0])[:QUOTE_WHOLE_SENTENCES]
        picked = [item for item in picked if item[0] >= best - 0.2]
        order = sorted({rank for _, rank, _, _ in picked}, key=lambda r: -max(s for s, k, _, _ in picked if k == r))
        parts = []
        for number, rank in enumerate(order):
            lead = (
                f'From our help article "{hits[rank].title}": ' if number == 0 else f'And from "{hits[rank].title}": '
            )
            chosen = sorted((i, text) for _, k, i, text in picked if k == rank)
            parts.append(lead + " ".join(text for _, text in chosen))
        text = " ".join(parts)
        forward(text)
        return Answer(
            text,
            "quote",
            sources=[{"title": hits[rank].title, "score": round(hits[rank].score, 3)} for rank in order],
            grounded=True,
        )

    # --- helpers ------------------------------------------------------------------------------
    def _params(self, seed: int | None) -> SamplingParams:
        if seed is None:
            return SamplingParams(max_new_tokens=self.max_new_tokens, no_repeat_ngram_size=0, timeout_s=self.timeout_s)
        return SamplingParams(
            max_new_tokens=self.max_new_tokens,
            temperature=0.7,
            top_p=0.9,
            seed=seed,
            timeout_s=self.timeout_s,
        )

    def _prompt(
        self, history: Sequence[prompts.Turn], snippets: Sequence[prompts.Snippet], max_new_tokens: int
    ) -> prompts.Prompt:
        assert self.engine is not None
        return prompts.build_prompt(
            tokenizer=self.engine.tokenizer,
            context_window=self.engine.context_window,
            max_new_tokens=max_new_tokens,
            system=prompts.instructions(self.company),
            snippets=snippets,
            history=history,
        )

    def _submit_built(self, built: prompts.Prompt, params: SamplingParams) -> TokenStream:
        assert self.engine is not None
        return self.engine.submit(built.ids, SamplingParams(**{**params.__dict__, "stop": built.stop}))

    def _submit(
        self, history: Sequence[prompts.Turn], snippets: Sequence[prompts.Snippet], params: SamplingParams
    ) -> TokenStream:
        return self._submit_built(self._prompt(history, snippets, params.max_new_tokens), params)

    def _support(self, history: Sequence[prompts.Turn], hits: Sequence[Hit]) -> facts.Support:
        from generation.dialogues import fixed_phrases  # noqa: PLC0415 - a cycle (dialogues uses answering's phrases) that the answering/ package removes

        parts = [h.title + " " + h.body for h in hits]
        parts += [t.text for t in history if t.role == "customer"]
        parts += [self.company, *fixed_phrases()]
        return facts.Support("\n".join(parts))
