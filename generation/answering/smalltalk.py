"""Small talk, recognised only when it is small talk, and answered with a fixed reply.

A message is small talk when it is short, every content word in it is a small-talk word
("hello", "thanks", "bye", "robot"...), and it is close to one of the exemplars below; its
category picks the reply (generation/answering/phrases.py). So "How much is the fine for a
late return?" is never taken for small talk, and small talk never gets generated text that
means nothing.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from generation.knowledge.bm25 import tokenize

_WORD = re.compile(r"[a-z']+")

EXEMPLARS: dict[str, tuple[str, ...]] = {
    "greeting": (
        "Hello",
        "Hi there",
        "Good morning",
        "Hey",
        "Good evening",
        "Is anyone there?",
        "Hello?",
        "Hi, I have a question",
    ),
    "wellbeing": ("How are you?", "Hey, how are you doing today?", "How's it going?"),
    "thanks": (
        "Thank you",
        "Thanks a lot, that helps",
        "Great, thanks!",
        "Cheers",
        "Perfect, thank you so much",
        "Ok, thank you",
        "thx",
        "Thanks, that answers my question",
        "Thank you so much for your help",
        "Yes, thank you",
    ),
    "goodbye": (
        "Goodbye",
        "Bye, have a nice day",
        "See you",
        "That's all, bye",
        "That's all I needed",
    ),
    "identity": ("Who are you?", "Are you a robot?", "Am I talking to a bot?", "What's your name?"),
    "acknowledgement": ("ok", "cool", "alright", "got it", "great"),
}
# A "yes" or "no" is told by its first word: MiniLM puts "no" next to "yes".
_YES = frozenset({"yes", "yeah", "yep", "yup", "sure"})
_NO = frozenset({"no", "nope", "nah"})
# Words small talk is made of (beyond tokenize's stopwords), compared as tokenize stems them
# ("goodbye" -> "goodby", "morning" -> "morn").
WORDS = frozenset(
    tokenize(
        """hello hiya howdy morning afternoon evening night day good great nice lovely fine thank thanks cheer
        cheers appreciate appreciated lot bye goodbye see later soon perfect awesome cool ok okay alright
        right sure got anyone anybody someone somebody robot bot machine human real talking doing going name
        doing well today help helpful helped wonderful amazing brilliant excellent super kind welcome thx ty
        tysm thanx thnx much yeah yep yup nope nah everything needed question answered answers"""
    )
)
MAX_WORDS = 9
MIN_COSINE = 0.62

_cache: dict[str, tuple[list[str], np.ndarray]] = {}


def _exemplars(embedder: Any) -> tuple[list[str], np.ndarray]:
    if embedder.name not in _cache:
        labels = [label for label, texts in EXEMPLARS.items() for _ in texts]
        _cache[embedder.name] = (labels, embedder.encode([t for texts in EXEMPLARS.values() for t in texts]))
    return _cache[embedder.name]


def possible(text: str) -> bool:
    """Whether ``text`` is made of small-talk words only, so that it may be small talk."""
    return len(text.split()) <= MAX_WORDS and all(word in WORDS for word in tokenize(text))


def category(text: str, vector: np.ndarray, embedder: Any) -> str | None:
    """The small-talk category of ``text`` (its own ``vector`` from ``embedder``), or ``None``."""
    if not possible(text):
        return None
    words = _WORD.findall(text.lower())
    if words and words[0] in _NO:
        return "no"
    if words and words[0] in _YES and not {"thank", "thanks", "thx", "ty"} & set(words):
        return "yes"
    labels, vectors = _exemplars(embedder)
    scores = vectors @ vector
    best = int(np.argmax(scores))
    return labels[best] if float(scores[best]) >= MIN_COSINE else None
