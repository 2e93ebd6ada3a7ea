"""The values a generated article's slots take: the kinds of slot, the ranges numbers are drawn
from, and invented names (generation/responder/corpus.py)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")

NAMES = frozenset({"company", "product", "city", "street", "person", "place", "station"})
NUMBERS = frozenset({"price", "pct", "minutes", "hours", "days", "weeks", "months", "years", "n", "age", "gb", "time"})
OTHERS = frozenset({"day", "date", "promo", "ref", "ussd", "email", "url", "phone"})
_RANGES = {"price": (5, 100), "pct": (5, 50), "minutes": (5, 55), "hours": (1, 48), "days": (1, 30), "weeks": (1, 8)}
_RANGES |= {"months": (1, 12), "years": (1, 5), "n": (2, 10), "age": (16, 21), "gb": (5, 100), "time": (8, 18)}
_UNITS = {"minutes": "minute", "hours": "hour", "days": "day", "weeks": "week", "months": "month", "years": "year"}
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = "January February March April May June July August September October November December".split()


@cache
def data(name: str) -> Any:
    """One of the corpus's JSON files in ``data/``."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def invent(rng: random.Random, kind: str, *, reject: Callable[[str], object]) -> str:
    """A capitalised name built from syllables, with its kind's suffix ("Velmora", "Brenford",
    "Tasko Street"), drawn again while ``reject`` says so."""
    words = data("language.json")
    while True:
        syllables = "".join(
            rng.choice(words["onsets"]) + rng.choice(words["vowels"]) for _ in range(rng.choice((2, 2, 3)))
        )
        name = (syllables + rng.choice(words["codas"])).capitalize() + rng.choice(words["suffixes"][kind])
        if not reject(name):
            return name
