"""Small talk, recognised only when it is small talk, and answered with a fixed reply.

A message is small talk when it is short, every content word in it is a small-talk word
("hello", "thanks", "bye", "robot"...), and it is close to one of the exemplars below; its
category picks the reply (generation/answering/phrases.py). So "How much is the fine for a
late return?" is never taken for small talk, and small talk never gets generated text that
means nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from generation.knowledge.bm25 import tokenize

EXEMPLARS: dict[str, tuple[str, ...]] = {
    "greeting": ("Hello", "Hi there", "Good morning", "Hey", "Good evening", "Is anyone there?", "Hello?"),
    "wellbeing": ("How are you?", "Hey, how are you doing today?", "How's it going?"),
    "thanks": ("Thank you", "Thanks a lot, that helps", "Great, thanks!", "Cheers", "Perfect, thank you so much"),
    "goodbye": ("Goodbye", "Bye, have a nice day", "See you", "That's all, bye"),
    "identity": ("Who are you?", "Are you a robot?", "Am I talking to a bot?", "What's your name?"),
    "acknowledgement": ("ok", "cool", "alright", "got it", "great"),
}
# Words small talk is made of (beyond tokenize's stopwords).
WORDS = frozenset(
    """hello hiya howdy morning afternoon evening night day good great nice lovely fine thank thanks cheer
    cheers appreciate appreciated lot bye goodbye see later soon perfect awesome cool ok okay alright
    right sure got anyone anybody someone somebody robot bot machine human real talking doing going name
    doing well today help helpful helped wonderful amazing brilliant excellent super kind welcome""".split()
)
MAX_WORDS = 9
MIN_COSINE = 0.62

_cache: dict[str, tuple[list[str], np.ndarray]] = {}


def _exemplars(embedder: Any) -> tuple[list[str], np.ndarray]:
    if embedder.name not in _cache:
        labels = [label for label, texts in EXEMPLARS.items() for _ in texts]
        _cache[embedder.name] = (labels, embedder.encode([t for texts in EXEMPLARS.values() for t in texts]))
    return _cache[embedder.name]


def category(text: str, vector: np.ndarray, embedder: Any) -> str | None:
    """The small-talk category of ``text`` (its ``vector`` from ``embedder``), or ``None``."""
    if len(text.split()) > MAX_WORDS or any(word not in WORDS for word in tokenize(text)):
        return None
    labels, vectors = _exemplars(embedder)
    scores = vectors @ vector
    best = int(np.argmax(scores))
    return labels[best] if float(scores[best]) >= MIN_COSINE else None
