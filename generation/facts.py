"""No invented facts: what counts as a fact in a reply, and whether the snippets support it.

Pure functions (unit-tested without a model). A *fact* is a number (prices, times, counts,
phone numbers), an email address, a web address, or a capitalised name in mid-sentence. A
reply may only state facts that appear in its support text: the knowledge snippets, the
conversation, and the bot's own fixed phrases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


_HARMLESS_PARTIAL = re.compile(r"[a-z'’,;!?-]+")
# At a sentence's start a capitalised word is not a name (see ``unsupported_facts``).
_WORD_IN_PROGRESS = re.compile(r"[A-Za-z'’,;!?-]+")
_WORDS = re.compile(r"[a-z0-9$%@.]+(?:['’][a-z]+)?")
NGRAM = 4


def word_ngrams(text: str, n: int = NGRAM) -> list[tuple[str, ...]]:
    words = [w.strip(".") for w in _WORDS.findall(text.lower())]
    words = [w for w in words if w]
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def novel_ngrams(text: str, source_ngrams: set[tuple[str, ...]]) -> int:
    """Word 4-grams of ``text`` that the sources lack; each splice of two passages makes 1-3."""
    return sum(g not in source_ngrams for g in word_ngrams(text))


def faithfulness(text: str, source_ngrams: set[tuple[str, ...]]) -> float:
    """Share of the text's word 4-grams found in the sources (1.0 = a faithful restatement).

    A small model that garbles a copy ("$25 per day or $25 per weekend") keeps every number
    of its snippet, so the fact check alone passes it; this catches the splice.
    """
    grams = word_ngrams(text)
    if not grams:
        return 1.0
    return sum(g in source_ngrams for g in grams) / len(grams)


def repeats_itself(text: str) -> bool:
    grams = word_ngrams(text)
    return len(grams) != len(set(grams))


class FactGate:
    """Streams a growing reply word by word, only as far as its facts are supported.

    ``feed`` takes the whole text so far and forwards the newly checked part; after the first
    unsupported fact (or, when ``source_ngrams`` is given, once the text strays from
    restating the sources) it forwards nothing more and ``broken`` is set.
    """

    def __init__(
        self,
        support: Support,
        forward: Callable[[str], None],
        source_ngrams: set[tuple[str, ...]] | None = None,
        max_novel: int = 1,
    ) -> None:
        self.support = support
        self.forward = forward
        self.source_ngrams = source_ngrams
        self.max_novel = max_novel
        self.sent = 0
        self.broken = False

    def feed(self, text: str) -> bool:
        if self.broken:
            return False
        words_end = max(text.rfind(" "), text.rfind("\n"))
        cut = words_end
        tail = text[words_end + 1 :]
        sentence_start = _sentence_initial(text, words_end + 1)
        if tail and (_HARMLESS_PARTIAL.fullmatch(tail) or (sentence_start and _WORD_IN_PROGRESS.fullmatch(tail))):
            # A lowercase word in progress can never turn into a fact (numbers, names and
            # addresses need digits, capitals or '@'; an address is checked when complete).
            cut = len(text)
        if cut <= self.sent:
            return True
        return self._release(text, cut, max(words_end, 0))

    def finish(self, text: str) -> bool:
        if self.broken:
            return False
        return self._release(text, len(text), len(text))

    def _release(self, text: str, end: int, words_end: int) -> bool:
        # Facts are checked on everything released; faithfulness on whole words only.
        if unsupported_facts(text[:end], self.support) or self._strays(text[:words_end]):
            self.broken = True
            return False
        if end > self.sent:
            self.forward(text[self.sent : end])
            self.sent = end
        return True

    def _strays(self, text: str) -> bool:
        if self.source_ngrams is None:
            return False
        return novel_ngrams(text, self.source_ngrams) > self.max_novel or repeats_itself(text)
