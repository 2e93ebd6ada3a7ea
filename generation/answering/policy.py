"""Grounded answers: decide whether and how to answer one customer turn, write it, verify it.

The policy, in order:
1. "Ignore your instructions"-style messages get a fixed, polite decline.
2. A customer who asks for a person, says in a few words that the last answer did not help
   ("it didnt work"), writes in another language, or asks about one record (an order, invoice
   or account number that no article mentions), gets a handoff at once
   (generation/answering/screening.py).
3. Small talk (greetings, thanks, goodbyes, a bare yes or no, "quick question", "I have a
   problem with my order") gets a fixed reply, told by the message's own words even where it
   would lean on the one before (generation/answering/smalltalk.py).
4. Retrieval ranks passages, with the previous question when this one is a follow-up
   (generation/answering/searching.py, followup.py), and what the customer gives of their
   case may put a passage that scores nearly as well first (ranking.py); each question of a
   message that asks two or three is searched on its own (questions.py), and the answer holds
   each one's. Too unsure, or the best passage lacks what the question asks for (a kind of
   value, a name no article mentions, a thing the customer asks whether the company has,
   topics.py): an honest handoff that says nothing was found. A message that names nothing new
   ("why?", "are you sure?") and would get the previous answer again gets a person instead.
   Evidence that sends the reader to another article for the value asked ("see Your excess
   explained") is what that article says; asked how to do something, evidence that gives no
   way to do it yields to a passage of the same article that gives a menu path ("Manage
   booking > Special assistance", elsewhere.py).
5. Otherwise the answer is built from the evidence, the units of the best passage that answer
   (generation/answering/evidence.py): the model writes it, and each sentence is verified before
   the customer sees it (generation/answering/writing.py, gate.py); when the model's first
   sentence fails, the evidence is quoted instead. Between the two confidence thresholds the
   answer comes with a handoff, so a person checks it.
When the offline responder is not built yet, step 5 quotes the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from generation.answering import answer_types, elsewhere, followup, phrases, questions, ranking, smalltalk, topics
from generation.answering import evidence as evidence_of
from generation.answering import prompt as prompts
from generation.answering.gate import is_yes_no_question
from generation.answering.screening import (
    HYPOTHETICAL,
    asks_for_person,
    is_injection,
    previous_reply,
    record_references,
    says_it_did_not_help,
)
from generation.answering.searching import (
    OWN_SHARE,
    OWN_WORDS,
    Search,
    Searcher,
    already_said,
    holds_share,
    squashed,
)
from generation.answering.writing import Answer, Forward, StopCheck, Writer
from generation.engine import Engine, SamplingParams
from generation.knowledge.bm25 import tokenize
from generation.knowledge.index import KnowledgeIndex, PassageHit, confidence

# What a search found to answer with: the evidence (or ``None``), the confidence, and the
# handoff to give when there is no evidence (``None``: the "not found" one).
Found = tuple[evidence_of.Evidence | None, float, str | None]


def _noop(_: str) -> None:
    return None


def _never() -> bool:
    return False


def _asks_on_its_own(question: str) -> bool:
    """Whether ``question`` says itself what kind of answer it wants: it asks about a case ("what
    if I move?"), asks yes or no, or asks for a kind of value ("how long?")."""
    return (
        bool(HYPOTHETICAL.match(question)) or is_yes_no_question(question) or answer_types.asked(question) is not None
    )


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
        max_new_tokens: int = 120,
        timeout_s: float = 120.0,
        restating: bool = True,
        sampling: SamplingParams | None = None,
    ) -> None:
        self.index = index
        self.engine = engine
        self.company = company
        self.min_confidence = min_confidence
        self.sure_confidence = sure_confidence
        self.searcher = Searcher(index, sure_confidence=sure_confidence)
        self.writer = Writer(
            engine=engine,
            company=company,
            index=index,
            max_new_tokens=max_new_tokens,
            timeout_s=timeout_s,
            restating=restating,
            sampling=sampling or SamplingParams(),
        )

    # --- policy ------------------------------------------------------------------------------
    def answer(
        self,
        history: Sequence[prompts.Turn],
        forward: Forward = _noop,
        should_stop: StopCheck = _never,
        *,
        raw_question: str | None = None,
    ) -> Answer:
        """Answer the last turn of ``history``; ``forward`` gets the text as it may be shown.

        ``raw_question`` is the last message before personal data was redacted from it: the
        policy looks there for record numbers, which redaction may have masked. ``should_stop``
        is polled while generating: when it says so, the reply ends with the text shown so far
        (mode ``stopped``).
        """
        question = history[-1].text if history else ""
        if not question.strip():
            return _fixed(phrases.EMPTY_HISTORY, "smalltalk", forward)
        if is_injection(question):
            return _fixed(phrases.declined(self.company), "declined", forward)
        if asks_for_person(question):
            return _fixed(phrases.HANDOFF_REQUESTED, "handoff", forward, handoff=True)
        if says_it_did_not_help(history):
            return _fixed(phrases.HANDOFF_NOT_HELPED, "handoff", forward, handoff=True)
        if any(not self.index.mentions(code) for code in record_references(raw_question or question)):
            # "Where is order 55123?": about one customer's record, which only staff can look up.
            return _fixed(phrases.HANDOFF_RECORD, "handoff", forward, handoff=True)
        if self.index.speller.unreadable(question):
            # Another language, or keys mashed: a person may read it; no passage would answer it.
            return _fixed(phrases.HANDOFF_NOT_UNDERSTOOD, "handoff", forward, handoff=True)
        unwrapped = smalltalk.unwrapped(question)
        if unwrapped != question:
            # "Hello, I wonder if you could help. My card ...? Many thanks, Janet": answered as
            # the question alone would be.
            question = unwrapped
            history = [*history[:-1], prompts.Turn(history[-1].role, question)]
        announced = smalltalk.announces(question)
        if announced is not None:
            return _fixed(phrases.SMALLTALK_REPLIES[announced], "smalltalk", forward)
        first, followed = self.searcher.first_search(history)
        talk = None
        plain = smalltalk.plain(question)  # "thankss", "byeee": "thanks", "bye"
        if smalltalk.possible(plain):
            # A follow-up's search joins the message before; small talk is told by its own words.
            own = self.index.embedder.encode_query(plain) if followed or plain != question else first[1]
            talk = smalltalk.category(plain, own, self.index.embedder)
        if talk is not None:
            return _fixed(phrases.SMALLTALK_REPLIES[talk].format(company=self.company), "smalltalk", forward)
        asked = questions.split(question)
        whole = self._find(history, self.searcher.with_earlier(history, first, followed))
        if len(asked) > 1:
            found, conf, refusal, unsure = self._find_each(history, asked, whole)
        else:
            (found, conf, refusal), unsure = whole, False
            if found is not None and self.searcher.would_repeat(history, found):
                found, refusal = None, phrases.HANDOFF_NOTHING_MORE
        if found is None:
            refusal = refusal or topics.not_found(self.index, question)
            return _fixed(refusal, "handoff", forward, handoff=True, confidence=conf)
        tentative = unsure or conf < self.sure_confidence
        if self.engine is None:
            answer = self.writer.quote(found, forward)
        else:
            answer = self.writer.generate(history, found, forward, should_stop)
            if answer.mode == "stopped":
                answer.confidence = conf
                return answer
        answer.confidence = conf
        if tentative:
            answer.handoff = True
            answer.text += phrases.TENTATIVE_SUFFIX
            if answer.stream_matches:
                forward(phrases.TENTATIVE_SUFFIX)
        return answer

    def _find(self, history: Sequence[prompts.Turn], search: Search) -> Found:
        """The evidence ``search`` found for the last message of ``history`` and the search's
        confidence; or no evidence, and the handoff to give instead (``None``: the "not found"
        one), when retrieval is too unsure, the passage does not speak of what the message
        names, or it lacks the kind of value asked for."""
        question = history[-1].text
        query, vector, hits, conf = search
        corrected = self.index.speller.correct(question)
        joined = query != corrected
        # The customer's case: this message, and for a follow-up what the one before told
        # ("i made a complaint 9 weeks ago" before "who can i go to now?"); not what it asked
        # ("how much is it for a phone worth $700?" before "how many times can i claim?"), typos
        # mended ("2 hoours" is a time).
        earlier = next((t.text for t in reversed(history[:-1]) if t.role == "customer"), None)
        told = questions.telling_part(earlier) if joined and earlier else ""
        case = self.index.speller.correct(f"{told} {question}".strip())
        hits, conf, worth = self._ranked(hits, conf, question, case=case)
        before = previous_reply(history)
        if joined and before.startswith(phrases.NOT_FOUND) and earlier:
            # "can u post it to my new address?" after "Your team found the jacket I left on a
            # bike, but I've moved out of state.", which found no sure answer: the message before
            # says what this one is about. (Not after "I couldn't find anything about scotland":
            # the article that message found was not about what it named.)
            first = self.searcher.run(earlier)[2]
            if first:
                hits, conf, kept = ranking.article_first(hits, conf, first[0].entry, self.min_confidence)
                worth = worth or kept
        elif joined and questions.leans(question):
            # "how much does it cost?" after the reduced-fare plan was found for benefits: "it"
            # is what the answer before spoke of.
            hits, conf, kept = ranking.answered_article_first(hits, conf, before, self.min_confidence)
            worth = worth or kept
        elif joined and followup.continues(question):
            # "and if i have flex?" after the e-bike prices asks the e-bike price for Flex, not
            # what Flex is, where the e-bike passage speaks of Flex; "and for students?" after
            # the day pass's price asks for what students get, where it says nothing of them.
            own = self.searcher.own_terms(history)
            hits, conf, kept = ranking.answered_article_first(
                hits, conf, before, self.min_confidence, accepts=lambda h: holds_share(h, own) > 0
            )
            worth = worth or kept
        if not worth:
            return None, conf, None
        # A follow-up's confidence owes much to the message before ("can I take one to Yosemite?"
        # after a question about renting tents): what it names is checked however sure that is.
        unsure = conf < self.sure_confidence or joined
        # What the message names that no article mentions, found once for every passage checked.
        topic = topics.unknown_topic(self.index, question) if unsure else None
        if topic is not None and not topics.covers_topic(self.index, topic, hits[0], weak=conf < self.min_confidence):
            # "What's the price of delivery to Germany?": the shipping costs match best, and
            # the passage about shipping abroad, nearly as well, speaks of where it is going.
            covering = next(
                (
                    h
                    for h in hits[1:]
                    if h.score >= hits[0].score - topics.TOPIC_ELSEWHERE_MARGIN
                    and topics.covers_topic(self.index, topic, h)
                ),
                None,
            )
            if covering is None:
                return None, conf, None
            hits = [covering, *(h for h in hits if h is not covering)]
            conf = confidence(hits)
            if conf < self.min_confidence:
                return None, conf, None
        if joined and len(tokenize(question)) >= OWN_WORDS:
            # The message before found the passage; which sentence answers is this message's to say.
            own = self.index.embedder.encode_query(corrected)
            mixed = (1 - OWN_SHARE) * vector + OWN_SHARE * own
            vector = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
        reply = squashed(previous_reply(history)) if joined else ""
        found = evidence_of.select(
            self.index,
            hits[0],
            vector,
            query,
            hits[1:],
            said=lambda unit: bool(reply) and already_said(unit, reply),
            own=corrected if joined else None,
        )
        # What a follow-up that asks in its own words asks for is its own: "what if I'm moving
        # somewhere you don't supply?" after "how much is the exit fee?" asks for no amount.
        asks = corrected if joined and _asks_on_its_own(corrected) else query
        if evidence_of.lacks_what_is_asked(asks, found):
            # "What's the price of Unlimited?": the passage saying what Unlimited is matched
            # best; the price stands in the same article's table of plans, a little further down.
            stating = evidence_of.stating_what_is_asked(asks, hits, elsewhere.VALUE_ELSEWHERE_MARGIN)
            if stating is None:
                return None, conf, None
            found = evidence_of.select(self.index, stating, vector, query)
        found = elsewhere.followed(self.index, found, query, vector)
        found = elsewhere.way_elsewhere(self.index, found, question=corrected, hits=hits, vector=vector, query=query)
        opposite = topics.opposite_only(corrected, (found.hit.passage.heading, *found.texts))
        if opposite is not None and not is_yes_no_question(corrected):
            # "What's the upload speed on Fibre 500?": the plan's download speeds answer nothing.
            # (Asked yes or no, the opposite may answer: "can I put it outside?", "keep it inside".)
            return None, conf, None
        thing = questions.thing_asked_for(corrected) if unsure else None
        if thing is not None and not topics.speaks_of(self.index, thing, found, self.company):
            # "Can I get a static IP address with home fibre?": the plans match, and none is one.
            return None, conf, phrases.not_found_about(thing)
        item = topics.unlisted(self.index, corrected, found) if unsure else None
        if item is not None:
            # "How much to assemble a desk?": the assembly prices list beds and wardrobes, no desk.
            return None, conf, phrases.not_listed(item)
        return found, conf, None

    def _find_each(
        self, history: Sequence[prompts.Turn], asked: Sequence[str], whole: Found
    ) -> tuple[evidence_of.Evidence | None, float, str | None, bool]:
        """The evidence for each question of one message ("how much is express shipping and how
        long does it take?"), joined in the order asked, as ``_find`` gives it, and whether some
        question found none (the answer then comes with a handoff, for a person to answer it).
        Each later question is searched as a follow-up to the one before where it leans on it
        ("how long does it take?"). The first takes what the ``whole`` message found instead
        where that is surer: "can I keep my number if I switch to you?" says less alone than
        with "... and is there a charge for that"."""
        earlier = list(history[:-1])
        found: list[evidence_of.Evidence] = []
        confs: list[float] = []
        for question in asked:
            turns = [*earlier, prompts.Turn("customer", question)]
            result, conf, _ = self._find(turns, self.searcher.search(turns))
            if not found and not confs and whole[0] is not None and whole[1] >= conf:
                result, conf = whole[0], whole[1]
            confs.append(conf)
            if result is not None:
                found.append(result)
            earlier = [*turns, prompts.Turn("assistant", "")]
        if not found:
            return None, confs[0], None, True
        return evidence_of.joined(found), min(confs), None, len(found) < len(asked)

    def evidence(self, history: Sequence[prompts.Turn]) -> evidence_of.Evidence | None:
        """The evidence an answer to the last turn would be built from, or ``None`` when
        retrieval finds nothing it would answer with (the training of approved answers asks
        with it)."""
        query, vector, hits, conf = self.searcher.search(history)
        corrected = self.index.speller.correct(history[-1].text)
        hits, conf, worth = self._ranked(hits, conf, history[-1].text, case=corrected)
        if not worth:
            return None
        own = corrected if query != corrected else None
        return evidence_of.select(self.index, hits[0], vector, query, hits[1:], own=own)

    def _ranked(
        self, hits: list[PassageHit], conf: float, question: str, case: str | None = None
    ) -> tuple[list[PassageHit], float, bool]:
        """``hits`` ranked for ``question`` and the customer's ``case`` (generation/answering/
        ranking.py), their confidence, and whether they are worth answering with."""
        return ranking.rank(
            self.index.entries, hits, conf, question, case=case or question, minimum=self.min_confidence
        )

    def search(self, history: Sequence[prompts.Turn]) -> Search:
        """What the last message of ``history`` is searched for, its vector, the passages found
        and the confidence (generation/answering/searching.py)."""
        return self.searcher.search(history)


def responder_for_worker() -> Responder:
    """The responder as the worker runs it: the live index and, once it is loaded, the engine."""
    from django.conf import settings  # noqa: PLC0415 - settings are read when a reply is made

    from generation import runtime  # noqa: PLC0415 - the runtime loads torch models
    from generation.knowledge.index import get_index  # noqa: PLC0415 - as above

    try:
        engine: Engine | None = runtime.get_engine()
    except runtime.ModelUnavailable:
        engine = None  # quote the knowledge base until the responder is trained
    return Responder(
        index=get_index(),
        engine=engine,
        company=settings.COMPANY_NAME,
        min_confidence=settings.RETRIEVAL_MIN_CONFIDENCE,
        sure_confidence=settings.RETRIEVAL_SURE_CONFIDENCE,
        max_new_tokens=settings.GENERATION_MAX_NEW_TOKENS,
        timeout_s=settings.GENERATION_TIMEOUT,
        restating=not settings.GENERATION_MODEL,
        sampling=SamplingParams(
            temperature=settings.GENERATION_TEMPERATURE,
            top_p=settings.GENERATION_TOP_P,
            no_repeat_ngram_size=settings.GENERATION_NO_REPEAT_NGRAM,
        ),
    )


def prefetch_query(question: str) -> None:
    """Start embedding the customer's ``question`` before ``Responder.answer`` asks for its
    vector: a worker calls this as soon as it takes the task, and claims the reply and reads
    the index and the history meanwhile. Questions declined or handed off before retrieval,
    and follow-ups (searched together with the question before), are left alone."""
    from generation.knowledge.embedder import Embedder  # noqa: PLC0415 - loads the embedding model
    from generation.knowledge.index import get_index  # noqa: PLC0415 - as above

    if (
        question.strip()
        and not is_injection(question)
        and not asks_for_person(question)
        and not followup.depends_on_earlier(question)
    ):
        Embedder.get().encode_query_soon(get_index().speller.correct(question))
