"""Suggested replies for staff: drafts of an answer to the customer's latest question that the
knowledge base answers, made on the bot's own answering path (retrieval, evidence, the answer
it would give), without its handoff and small-talk lines, which are no help to a person who
has already taken the conversation.

The latest customer turns are tried newest first, so "Sure, it's order TW-48213. Thanks!"
after a real question drafts answers to that question. The drafts are, in order: the answer
the bot would give (its tentative line left off), the evidence as the article
states it, and the whole passage it comes from when that says more. Staff edit them before
sending.
"""

from __future__ import annotations

from collections.abc import Sequence

from generation.answering import phrases
from generation.answering.policy import Responder
from generation.answering.prompt import Turn
from generation.answering.screening import asks_for_person, is_injection

MAX_DRAFTS = 3
# How many of the customer's latest turns are tried for a question the knowledge base answers.
LOOK_BACK = 3
# A passage longer than this is no draft: an agent would cut most of it.
PASSAGE_MAX_CHARS = 600
# Turns the bot answers with a line of its own (a greeting, a thank-you, a decline) ask nothing
# the knowledge base answers.
_SKIPPED_MODES = ("smalltalk", "declined", "stopped")


def draft_replies(responder: Responder, history: Sequence[Turn]) -> list[str]:
    """One to three drafts that answer the latest customer question the knowledge base has an
    answer to, best first; none when it has none for any of the last ``LOOK_BACK``."""
    turns = list(history)
    asked = [i for i, turn in enumerate(turns) if turn.role == "customer"][::-1][:LOOK_BACK]
    for position in asked:
        upto = turns[: position + 1]
        question = upto[-1].text
        if not question.strip() or is_injection(question) or asks_for_person(question):
            continue
        answer = responder.answer(upto)
        if answer.mode in _SKIPPED_MODES:
            continue
        found = responder.evidence(upto)
        options = []
        if answer.grounded:
            options.append(answer.text.removesuffix(phrases.TENTATIVE_SUFFIX))
        if found is not None:
            options.append(found.text)
            if len(found.hit.passage.text) <= PASSAGE_MAX_CHARS:
                options.append(found.hit.passage.text)
        drafts = _clean(options, responder.company)
        if drafts:
            return drafts
    return []


def _clean(options: list[str], company: str) -> list[str]:
    """The options without the bot's own lines (handoffs above all), each once, at most
    ``MAX_DRAFTS``."""
    canned = [p for p in phrases.fixed_phrases(company) if p]
    kept: list[str] = []
    for text in (" ".join(o.split()) for o in options):
        if not text or phrases.HANDOVER in text or any(p in text for p in canned):
            continue
        if any(text == k or text in k for k in kept):
            continue  # says nothing a draft before it does not
        kept.append(text)
    return kept[:MAX_DRAFTS]
