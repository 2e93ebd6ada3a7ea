"""The questions of one message: "how much is express shipping and how long does it take?"
asks two things, and each is searched and answered on its own (generation/answering/policy.py).

A message is cut after each question mark, and before "and", "also" or "plus" where a question
opens after it ("and how long ...", "also do you ..."); an opening "I have two questions:" goes.
Only a message with two or three parts that each ask something is split: "can I return boots
and sandals?" is one question.
"""

from __future__ import annotations

import re

from generation.knowledge.bm25 import tokenize

MAX_QUESTIONS = 3
_OPENER = (
    r"(?:how|what|what's|whats|when|where|which|who|why|can|could|do|does|did|is|are|will|would|should|may|"
    r"is there|are there)\b"
)
_AFTER_QUESTION_MARK = re.compile(r"(?<=\?)\s+")
_JOINED = re.compile(rf",?\s+(?:and|also|plus)\s+(?={_OPENER})", re.IGNORECASE)
# A message that asks something: a question mark, or the opening of a question.
_ASKS = re.compile(
    rf"\?|^\W*(?:(?:and|but|so|ok|okay|also|plus)\W+)*(?:{_OPENER}|(?:was|were|might|have|has|any)\b)",
    re.IGNORECASE,
)
_PREFACE = re.compile(
    r"^\W*(?:(?:hi|hello|hey)(?: there)?\W+)?i(?:'ve| have)(?: got)? (?:two|2|three|3|a few|some|a couple of) "
    r"(?:quick )?questions?\s*[:,.\-–]?\s*",
    re.IGNORECASE,
)
_LEADING_AND = re.compile(r"^\W*(?:and|also|plus)\W+", re.IGNORECASE)


def asks(text: str) -> bool:
    """Whether ``text`` asks something ("why?", "and how long does it take"), rather than says it."""
    return bool(_ASKS.search(text))


def split(message: str) -> list[str]:
    """The questions ``message`` asks, in order; ``[message]`` when it asks one (or more than
    ``MAX_QUESTIONS``, a list that reads as one request)."""
    text = _PREFACE.sub("", message.strip())
    parts = [
        piece.strip()
        for sentence in _AFTER_QUESTION_MARK.split(text)
        for piece in _JOINED.split(sentence)
        if piece.strip()
    ]
    asking = [p for p in parts if asks(p) and tokenize(p)]
    if not 2 <= len(asking) <= MAX_QUESTIONS or len(asking) != len(parts):
        return [message]
    # "... and how long do refunds take?" stands alone unless it leans on the question before
    # ("and how long does it take?": generation/answering/followup.py decides).
    return [asking[0], *(_LEADING_AND.sub("", p) if not _leans(p) else p for p in asking[1:])]


_PRONOUN = re.compile(r"\b(?:it|that|this|they|them|those|these|one)\b", re.IGNORECASE)


def _leans(part: str) -> bool:
    return bool(_PRONOUN.search(part))
