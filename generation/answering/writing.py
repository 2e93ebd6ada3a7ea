"""Writing the answer from its evidence: the model writes it, each sentence verified before the
customer sees it, or the evidence is quoted.

The offline responder restates the evidence, held to it token by token (generation/answering/
restate.py) and streamed as it is written; a model named by ``GENERATION_MODEL`` may
paraphrase, and each of its sentences passes the fact gate (generation/answering/gate.py)
before it is streamed. When the model's first sentence fails, the evidence is quoted instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from generation.answering import facts
from generation.answering import prompt as prompts
from generation.answering.evidence import Evidence
from generation.answering.gate import MAX_SENTENCES, Grounded, SentenceGate, Verifier
from generation.answering.restate import EagerStream, Restatements
from generation.engine import Engine, SamplingParams, StreamStats, TokenStream
from generation.knowledge.index import KnowledgeIndex
from generation.knowledge.passages import split_sentences

Forward = Callable[[str], None]
StopCheck = Callable[[], bool]


@dataclass
class Answer:
    text: str
    mode: str  # model | quote | smalltalk | handoff | declined | stopped
    sources: list[dict[str, Any]] = field(default_factory=list)
    grounded: bool = False
    handoff: bool = False
    confidence: float = 0.0
    candidates: list[str] = field(default_factory=list)
    stats: StreamStats | None = None
    evidence: tuple[str, ...] = ()
    # False when the customer saw streamed text that the final message does not begin with.
    stream_matches: bool = True


class Writer:
    """Writes answers from their evidence with ``engine``, or quotes it. Thread-safe: holds no
    per-call state."""

    def __init__(
        self,
        *,
        engine: Engine | None,
        company: str,
        index: KnowledgeIndex,
        max_new_tokens: int,
        timeout_s: float,
        restating: bool,
        sampling: SamplingParams,
    ) -> None:
        self.engine = engine
        self.company = company
        # The index, for its speller: a restatement may mend the customer's typos.
        self.index = index
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        # The offline responder learns to restate its evidence, and must do exactly that; a
        # real instruct model may paraphrase, under the fact gate.
        self.restating = restating
        # How a paraphrasing model samples (a restating one decodes greedily, constrained).
        self.sampling = sampling

    def sources(self, found: Evidence) -> list[dict[str, Any]]:
        source: dict[str, Any] = {"title": found.hit.title, "score": round(found.hit.score, 3)}
        if found.hit.passage.heading:
            source["section"] = found.hit.passage.heading
        if found.hit.entry.url:
            source["url"] = found.hit.entry.url
        return [source]

    def quote(self, found: Evidence, forward: Forward) -> Answer:
        """The evidence as it stands in the article."""
        text = found.text
        forward(text)
        return Answer(text, "quote", sources=self.sources(found), grounded=True, evidence=found.texts)

    def _verifier(self, history: Sequence[prompts.Turn], found: Evidence) -> Verifier:
        """The gate of a model that may paraphrase (a ``GENERATION_MODEL``)."""
        support = facts.Support(
            "\n".join([found.hit.title, *found.texts, *(t.text for t in history if t.role == "customer"), self.company])
        )
        return Grounded(support, found.text)

    def generate(
        self,
        history: Sequence[prompts.Turn],
        found: Evidence,
        forward: Forward,
        should_stop: StopCheck,
    ) -> Answer:
        """The answer the engine writes from ``found``: the offline responder's restatement
        (``_restate``), or a paraphrasing model's sentences, each passing the fact gate before
        ``forward`` shows it, and the evidence quoted when none does. Where ``should_stop`` says
        so, the reply ends with what was shown (mode ``stopped``)."""
        if self.restating:
            return self._restate(history, found, forward, should_stop)
        stream = self._submit(history, found)
        gate = SentenceGate(self._verifier(history, found), forward)
        for _ in stream:
            if not gate.feed(stream.text) or gate.full:
                stream.cancel()
            if should_stop():
                stream.cancel()
                text = gate.text
                return Answer(text or "(stopped)", "stopped", stats=stream.stats, stream_matches=bool(text))
        gate.finish(stream.text)
        written = stream.text.strip()
        if gate.sentences:
            return Answer(
                gate.text,
                "model",
                sources=self.sources(found),
                grounded=True,
                candidates=[written],
                stats=stream.stats,
                evidence=found.texts,
            )
        quote = self.quote(found, forward)
        quote.candidates, quote.stats = [written], stream.stats
        return quote

    def _restate(
        self,
        history: Sequence[prompts.Turn],
        found: Evidence,
        forward: Forward,
        should_stop: StopCheck,
    ) -> Answer:
        """The offline responder's reply: a restatement of the evidence, held to it token by
        token and streamed as it is written (``EagerStream``)."""
        speller = self.index.speller
        allowed = Restatements(
            found.texts,
            speller.correct(history[-1].text),
            first=found.best,
            ordinary=speller.ordinary,
            known=speller.known,
        )
        stream = self._submit(history, found, allowed)
        # The reply may run as far as the evidence, as a quote shows it: evidence selection
        # bounds its length, and the sentence that answers may be its fourth or fifth (the
        # steps of a procedure, then the one asked about).
        eager = EagerStream(allowed, forward, max_sentences=max(len(split_sentences(found.text)), MAX_SENTENCES))
        for _ in stream:
            eager.feed(stream.text)
            if eager.full:
                stream.cancel()
            if should_stop():
                stream.cancel()
                text = eager.sent
                return Answer(text or "(stopped)", "stopped", stats=stream.stats, stream_matches=bool(text))
        written = stream.text.strip()
        reply = eager.finish(stream.text)
        # The model's reply, unless it stopped before writing a whole sentence of it (a timeout)
        # and the evidence finished it.
        sentences = split_sentences(written)
        whole = sentences if written.endswith((".", "!", "?")) else sentences[:-1]
        own = bool(whole) and reply.startswith(whole[0])
        return Answer(
            reply,
            "model" if own else "quote",
            sources=self.sources(found),
            grounded=True,
            candidates=[written],
            stats=stream.stats,
            evidence=found.texts,
        )

    def _submit(
        self, history: Sequence[prompts.Turn], found: Evidence, allowed: Restatements | None = None
    ) -> TokenStream:
        assert self.engine is not None
        built = prompts.build_prompt(
            tokenizer=self.engine.tokenizer,
            context_window=self.engine.context_window,
            max_new_tokens=self.max_new_tokens,
            system=prompts.instructions(self.company),
            snippets=[prompts.Snippet(found.hit.title, found.text, found.hit.passage.heading)],
            history=list(history)[-prompts.HISTORY_TURNS :],
        )
        if allowed is not None:
            params = SamplingParams(
                max_new_tokens=self.max_new_tokens,
                timeout_s=self.timeout_s,
                stop=built.stop,
                constraint=allowed,
            )
        else:
            params = replace(
                self.sampling, max_new_tokens=self.max_new_tokens, timeout_s=self.timeout_s, stop=built.stop
            )
        return self.engine.submit(built.ids, params)
