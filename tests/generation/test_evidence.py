"""Evidence selection over an article's passages, on hand-made vectors (pure logic)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from generation.answering import evidence
from generation.knowledge.passages import Passage

UNITS = [
    "Bikes can be hired at any station.",
    "A day pass costs $12.",
    "Helmets are free.",
    "Rides over 45 minutes cost $2 for every extra 15 minutes.",
]
# The question's vector, and each unit's: the last unit (another section) answers best.
QUESTION = np.array([1.0, 0.0])
VECTORS = np.array([[0.1, 1.0], [0.2, 1.0], [0.1, 1.0], [1.0, 0.1]])
VECTORS = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)


def hits(second_score: float) -> list[Any]:
    entry = SimpleNamespace(outline=SimpleNamespace(units=UNITS), unit_vectors=VECTORS)
    first = Passage("Hiring", 0, 3, " ".join(UNITS[:3]))
    second = Passage("Long rides", 3, 4, UNITS[3])
    return [
        SimpleNamespace(entry=entry, passage=first, score=0.80),
        SimpleNamespace(entry=entry, passage=second, score=second_score),
    ]


def test_a_nearly_as_good_passage_of_the_same_article_is_looked_into() -> None:
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    top, runner_up = hits(0.79)
    found = evidence.select(index, top, QUESTION, "How much do long rides cost?", [runner_up])
    # The best unit is kept even where the best passage alone would fill the evidence.
    assert found.texts[found.best] == UNITS[3] and UNITS[3] in found.text
    assert len(found.texts) <= evidence.MAX_UNITS
    far_top, far = hits(0.70)
    alone = evidence.select(index, far_top, QUESTION, "How much do long rides cost?", [far])
    assert UNITS[3] not in alone.text
