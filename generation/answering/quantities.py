"""The amounts a customer names and the bands an article's sentences state.

Help centres state their rules in bands: "Arrival 3 to 6 hours late: $100", "Arrival more than
6 hours late: $200"; "No single bag can weigh more than 32 kg"; "mandatory for children aged 6
to 11". A customer names their own case ("landed 7 hours late", "a 35kg bag", "my son is 9"):
the sentence whose band holds that amount is the one that answers, though its neighbours share
as many of the question's words (generation/answering/evidence.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

# The words that measure an amount, each with its kind and what one of it is in that kind's
# measure: "48 hours" and "2 days" are the same wait. An age has no unit word of its own in a
# band ("aged 6 to 11", "16 or older"), nor money (a sign before it): both have their own
# patterns below.
UNITS = {
    r"(?:kg|kgs|kilos?|kilograms?)": ("weight", 1.0),
    r"(?:lbs?|pounds)": ("weight", 0.4536),
    r"(?:cm|centimet(?:er|re)s?)": ("length", 1.0),
    r"(?:minutes?|mins?)": ("time", 1 / 60),
    r"(?:hours?|hrs?)": ("time", 1.0),
    r"(?:(?:business |working |calendar )?days?)": ("time", 24.0),
    r"(?:weeks?)": ("time", 168.0),
    r"(?:months?)": ("time", 730.0),
    r"(?:gb|gigs?)": ("data", 1.0),
    r"(?:people|persons|passengers|travell?ers|guests|riders|adults|members)": ("people", 1.0),
}
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_AGE_WORDS = r"(?:years?[- ]olds?|yrs?[- ]olds?|y/?o)"


@dataclass(frozen=True)
class Band:
    kind: str
    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# What a customer names: "7 hours", "35kg", "$1,200", "£600", "9 yr old", "my son is 9", "im 17".
_ASKED = {unit: _compile(rf"\b{_NUMBER}\s?{unit}\b") for unit in UNITS}
_ASKED_MONEY = _compile(r"[$£€]\s?(\d[\d,]*(?:\.\d+)?)(k\b)?")  # "£6k": 6,000
# ... or a word after it: "500 quid", "50 bucks", "6k dollars" ("pounds" may weigh: "a 50 pound bag").
_ASKED_MONEY_WORD = _compile(r"\b(\d[\d,]*(?:\.\d+)?)(k)?\s?(?:quid|bucks|dollars?|euros?)\b")
# A number that measures something else: "is 3 hours", "is 20%", "turns 2 at 5pm".
_MEASURED = "|".join([*UNITS, r"%", r"percent", r"dollars?", r"euros?", r"[ap]\.?m\b", r"times", r"x\b"])
_ASKED_AGE = _compile(
    rf"\b(\d{{1,2}})[- ]?{_AGE_WORDS}\b"
    rf"|\b(?:is|am|i'?m|turns?|turning|aged)\s(\d{{1,2}})\b(?![.,:]?\d)(?!\s?(?:{_MEASURED}))"
)

_BETWEEN = r"(?:between )?{n}\s?(?:{u})?\s?(?:to|-|–|and)\s?{m}\s?{u}"
# "After 8 weeks" starts a band of time: "if it hasn't been resolved after 8 weeks".
_ABOVE = (
    r"(?:more than|over|above|longer than|exceeding|heavier than|at least|a minimum of|minimum of|after)\s{n}\s?{u}"
)
_FROM = r"{n}\s?{u}\s(?:or more|and over|or over|or longer|and above|or above)|{n} or more {u}"
_BELOW = (
    r"(?:up to|under|less than|below|no more than|at most|a maximum of|maximum of|fewer than|"
    r"shorter than|lighter than)\s{n}\s?{u}"
)
_TO = r"{n}\s?{u}\s(?:or less|or fewer|or under|or shorter)|{n} or (?:fewer|less) {u}"


def _bands(pattern: str, unit: str) -> re.Pattern[str]:
    return _compile(r"\b" + pattern.format(n=_NUMBER, m=_NUMBER, u=unit) + r"\b")


_STATED = {unit: tuple(_bands(pattern, unit) for pattern in (_BETWEEN, _ABOVE, _FROM, _BELOW, _TO)) for unit in UNITS}
_MONEY = r"[$£€]\s?(\d[\d,]*(?:\.\d+)?)"  # dollars, pounds or euros
_MONEY_BANDS = (
    _compile(rf"{_MONEY}\s?(?:to|-|–|and)\s?{_MONEY}"),
    _compile(rf"\b(?:more than|over|above|at least|exceeding) {_MONEY}"),
    _compile(rf"{_MONEY}\s(?:or more|and over|and up|and above)\b"),
    _compile(rf"\b(?:up to|under|less than|below|no more than|at most) {_MONEY}"),
    _compile(rf"{_MONEY}\s(?:or less|and under|and below)\b"),
)
_YEARS = r"(?:[- ]?years?(?:[- ]old)?)"
_AGE_BANDS = (
    _compile(
        rf"\baged? {_NUMBER}\s?(?:to|-|–|and)\s?{_NUMBER}\b|\b{_NUMBER}\s?(?:to|-|–)\s?{_NUMBER}[- ]?years?[- ]old"
    ),
    _compile(rf"\bat least {_NUMBER}{_YEARS}\b(?<=old)|\bover the age of {_NUMBER}\b"),
    _compile(rf"\b(?:aged? )?{_NUMBER}{_YEARS}? or older\b|\baged? {_NUMBER}{_YEARS}? (?:or|and) (?:over|above)\b"),
    _compile(rf"\b(?:under|younger than|below) (?:the age of )?{_NUMBER}\b(?![.,:]?\d)(?!\s?(?:{_MEASURED}))"),
    _compile(rf"\b{_NUMBER}{_YEARS}? or younger\b"),
)


def asked(question: str) -> list[tuple[str, float]]:
    """The amounts ``question`` names, each with its kind ("time" in hours, "weight" in kg,
    "money", "age", ...)."""
    found = [
        (UNITS[unit][0], _value(m.group(1)) * UNITS[unit][1])
        for unit, pattern in _ASKED.items()
        for m in pattern.finditer(question)
    ]
    found += [
        ("money", _value(m.group(1)) * (1000 if m.group(2) else 1))
        for pattern in (_ASKED_MONEY, _ASKED_MONEY_WORD)
        for m in pattern.finditer(question)
    ]
    found += [("age", _value(m.group(1) or m.group(2))) for m in _ASKED_AGE.finditer(question)]
    return found


def stated(text: str) -> Iterator[Band]:
    """The bands ``text`` states: "3 to 6 hours", "more than 32 kg", "aged 16 or older"."""
    measured = [(*UNITS[unit], patterns) for unit, patterns in _STATED.items()]
    for kind, scale, patterns in [*measured, ("money", 1.0, _MONEY_BANDS), ("age", 1.0, _AGE_BANDS)]:
        between, above, start, below, end = patterns
        for m in between.finditer(text):
            numbers = [g for g in m.groups() if g]
            yield Band(kind, _value(numbers[0]) * scale, _value(numbers[1]) * scale)
        for pattern in (above, start):
            for m in pattern.finditer(text):
                yield Band(kind, _value(next(g for g in m.groups() if g)) * scale, math.inf)
        for pattern in (below, end):
            for m in pattern.finditer(text):
                yield Band(kind, 0.0, _value(next(g for g in m.groups() if g)) * scale)


def fits(amounts: list[tuple[str, float]], text: str, *, bounded: bool = False) -> bool:
    """Whether ``text`` states a band that holds one of the customer's ``amounts``; with
    ``bounded``, a band with an upper end ("£1,001 to £2,500", not "more than £750")."""
    return bool(amounts) and any(
        band.holds(value) and not (bounded and math.isinf(band.high))
        for band in stated(text)
        for kind, value in amounts
        if band.kind == kind
    )
