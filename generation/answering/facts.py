"""No invented facts: what counts as a fact in a reply, and whether the snippets support it.

Pure functions (unit-tested without a model). A *fact* is a number (prices, times, counts,
phone numbers), an email address, a web address, or a capitalised name in mid-sentence. A
reply may only state facts that appear in its support text: the knowledge snippets, the
conversation, and the bot's own fixed phrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)[^\s)]+")
NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
NAME = re.compile(r"\b[A-Z][a-z]+(?:['’][a-z]+)?\b")
ALWAYS_OK = frozenset(
    """I I'm I'll I've I'd Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
    February March April May June July August September October November December OK Okay""".split()
)


def _number_key(raw: str) -> str:
    return raw.replace(",", "").rstrip(".:/-")


def numbers(text: str) -> set[str]:
    return {_number_key(m) for m in NUMBER.findall(text)}


@dataclass(frozen=True)
class Support:
    text: str
    lowered: str = field(init=False)
    number_keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lowered", self.text.lower())
        object.__setattr__(self, "number_keys", frozenset(numbers(self.text)))


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \"'(“‘")
    return not before or before[-1] in ".!?:\n"


def unsupported_facts(text: str, support: Support) -> list[str]:
    """The facts in ``text`` that ``support`` does not contain, in order of appearance."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for pattern in (EMAIL, URL):
        for match in pattern.finditer(text):
            spans.append(match.span())
            value = match.group(0).rstrip(".,;:!?)")
            if value.lower() not in support.lowered:
                found.append(value)

    def inside(pos: int) -> bool:
        return any(a <= pos < b for a, b in spans)

    for match in NUMBER.finditer(text):
        if inside(match.start()):
            continue
        if _number_key(match.group(0)) not in support.number_keys:
            found.append(match.group(0))
    for match in NAME.finditer(text):
        word = match.group(0)
        if inside(match.start()) or word in ALWAYS_OK or _sentence_initial(text, match.start()):
            continue
        if word.lower() not in support.lowered:
            found.append(word)
    return found


_WORDS = re.compile(r"[a-z0-9$%@.]+(?:['’][a-z]+)?")
NGRAM = 4


def word_ngrams(text: str, n: int = NGRAM) -> list[tuple[str, ...]]:
    words = [w.strip(".") for w in _WORDS.findall(text.lower())]
    words = [w for w in words if w]
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def repeats_itself(text: str) -> bool:
    grams = word_ngrams(text)
    return len(grams) != len(set(grams))
