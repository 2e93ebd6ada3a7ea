"""Slips of typing, as sets of words and distances: a word with a letter left out, put in,
changed, or two neighbouring letters swapped; its deletions (the keys of the lookup index
generation/knowledge/spelling.py goes through, the idea of SymSpell); a letter held down
("sooo"); the edit distance; and the day or month a typo stands for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from itertools import product

# A word shorter than this is mended only where a rule says so: a slip in a short word most
# often makes another word.
MIN_LENGTH = 4
# A letter held down: three or more of it in a row ("sooo", "pleeease").
STRETCHED = 3
# A word may stretch this many runs of one letter ("hellooo": two); longer ones stay as typed.
STRETCHED_RUNS = 3
VOWELS = frozenset("aeiouy")


def deletions(word: str, depth: int) -> set[str]:
    """``word`` and each word made from it by leaving out up to ``depth`` letters."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def swapped(word: str) -> set[str]:
    """``word`` with two neighbouring letters swapped."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)} - {word}


def inserted(word: str, start: int = 0) -> set[str]:
    """``word`` with one letter more, anywhere from position ``start`` on."""
    return {word[:i] + c + word[i:] for i in range(start, len(word) + 1) for c in _LETTERS}


def undoubled(word: str) -> set[str]:
    """``word`` with one of its doubled letters typed once ("traiin" -> "train")."""
    return {word[:i] + word[i + 1 :] for i in range(1, len(word)) if word[i] == word[i - 1]}


def one_edit(word: str) -> set[str]:
    """Every word one edit from ``word``: a letter left out, put in, changed, or two swapped."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))} | inserted(word) | changed_or_swapped(word)


def changed(word: str, start: int = 0) -> set[str]:
    """``word`` with one letter changed, anywhere from position ``start`` on."""
    return {word[:i] + c + word[i + 1 :] for i in range(start, len(word)) for c in _LETTERS if c != word[i]}


@cache
def _runs(least: int) -> re.Pattern[str]:
    """A run of ``least`` or more of one letter."""
    return re.compile(rf"([a-z])\1{{{least - 1},}}")


def stretched_readings(lower: str, least: int = STRETCHED) -> Iterator[str]:
    """What ``lower`` may stretch with a letter held down or typed again: each of its runs of
    ``least`` or more of one letter typed twice or once, in every combination, twice first
    ("hellooo" with ``least`` 2: "helloo", "hello", "heloo", "helo"). None for a word with no
    such run, or more than ``STRETCHED_RUNS`` of them."""
    runs = list(_runs(least).finditer(lower))
    if not runs or len(runs) > STRETCHED_RUNS:
        return
    for lengths in product((2, 1), repeat=len(runs)):
        reading, end = [], 0
        for run, length in zip(runs, lengths, strict=True):
            reading.append(lower[end : run.start()] + run.group(1) * length)
            end = run.end()
        yield "".join(reading) + lower[end:]


def changed_or_swapped(word: str) -> set[str]:
    """``word`` with one letter changed, or two neighbouring letters swapped."""
    return changed(word) | swapped(word)


def vowel_for_vowel(typo: str, word: str) -> bool:
    """Whether ``typo`` writes ``word`` with one vowel typed for another ("rading", "riding")."""
    if len(typo) != len(word):
        return False
    changes = [(a, b) for a, b in zip(typo, word, strict=True) if a != b]
    return len(changes) == 1 and all(c in VOWELS for c in changes[0])


def sole(readings: set[str]) -> str | None:
    """The one reading of a typo in ``readings``; ``None`` when there is none or more than one."""
    return next(iter(readings)) if len(readings) == 1 else None


def two_slips_apart(typo: str, word: str) -> bool:
    """Whether ``typo`` writes ``word`` with two slips, and is no other form of it: neither
    begins the other ("installer" is "install" with an ending, not a typo of it)."""
    return (
        abs(len(typo) - len(word)) <= 2
        and not (word.startswith(typo) or typo.startswith(word))
        and edit_distance(typo, word) == 2
    )


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (adjacent transpositions count as one edit)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
# Days and months, which customers write to say when ("the engineer is coming Thursay", "open
# on frodays?") and pyspellchecker counts seldom ("thursday" 673): a typo of one is read as it
# (``day_or_month``).
_CALENDAR = (
    *_DAYS,
    *(f"{day}s" for day in _DAYS),
    *"january february march april august september october november december".split(),
)
# How many slips a typo of a day or month this long may hold ("wensday": "wednesday").
CALENDAR_TWO_SLIPS = 7


def day_or_month(lower: str) -> str | None:
    """The day or month that ``lower`` (not an English word) mistypes, the nearest and the only
    one that near: one slip, or two in a name of ``CALENDAR_TWO_SLIPS`` letters or more."""
    near = [
        (distance, name)
        for name in _CALENDAR
        # A plural has its day's allowance: "ridars" is no "fridays".
        if (distance := edit_distance(lower, name)) <= (2 if len(name.removesuffix("s")) >= CALENDAR_TWO_SLIPS else 1)
    ]
    if not near:
        return None
    nearest = min(distance for distance, _ in near)
    names = {name for distance, name in near if distance == nearest}
    # "sundys" is as near "sunday" as "sundays": its last letter says which.
    ending = {name for name in names if name[-1] == lower[-1]}
    return sole(ending if len(names) > 1 and ending else names)
