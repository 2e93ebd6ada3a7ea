"""Small talk, recognised only when it is small talk, and answered with a fixed reply.

A message is small talk when it is short, every content word in it is a small-talk word
("hello", "thanks", "bye", "robot"...), and it is close to one of the exemplars below; its
category picks the reply (generation/answering/phrases.py). So "How much is the fine for a
late return?" is never taken for small talk, and small talk never gets generated text that
means nothing. A bare "yes" or "no" is told by its first word. A message that only says the
customer has a question or a problem ("quick question", "can you help me with my order?") is
asked for it: answering it with a passage, or handing it to a person, would be premature.
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


_GREETING = r"^\W*(?:(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?\W+)?"
_ABOUT = r"(?:\s+(?:about|with|regarding|on|for)\s+[\w' -]{1,40}?)?(?:\W+please)?\W*$"
# "quick question", "I have a question about my bill", "can you help me with my order?": the
# customer says what they want to ask about, not yet what they want to know.
_ANNOUNCES_QUESTION = re.compile(
    _GREETING + r"(?:(?:i(?:'ve| have)(?: got)?|got|i've got)\s+(?:a|one|another|two|a few|some)?\s*"
    r"(?:quick\s+|small\s+|simple\s+)?(?:questions?|query|queries)|(?:a\s+)?quick question|question|"
    r"(?:can|could) (?:you|u|someone|anyone) (?:help|assist)(?: me)?|i need (?:some |a little )?help"
    r"|i(?:'d| would) like (?:some )?help)" + _ABOUT,
    re.IGNORECASE,
)
_ANNOUNCES_PROBLEM = re.compile(
    _GREETING + r"(?:i(?:'ve| have)(?: got)?|there(?:'s| is)|got)\s+(?:a|an|one|another|some)?\s*"
    r"(?:small\s+|big\s+|serious\s+)?(?:problem|issue)s?" + _ABOUT,
    re.IGNORECASE,
)


def announces(text: str) -> str | None:
    """ "question" or "problem" where ``text`` only says the customer has one ("quick question",
    "I have a problem with my order"), to be asked for it rather than answered or handed over."""
    if _ANNOUNCES_PROBLEM.match(text):
        return "problem"
    if _ANNOUNCES_QUESTION.match(text):
        return "question"
    return None


def possible(text: str) -> bool:
    """Whether ``text`` is made of small-talk words only, so that it may be small talk."""
    return len(text.split()) <= MAX_WORDS and all(word in WORDS for word in tokenize(text))


def category(text: str, vector: np.ndarray, embedder: Any) -> str | None:
    """The small-talk category of ``text`` (its own ``vector`` from ``embedder``), or ``None``."""
    if not possible(text):
        return None
    words = _WORD.findall(text.lower())
    if words and "?" not in text:  # "no, how much is it?" asks something
        if words[0] in _NO:
            return "no"
        if words[0] in _YES and not {"thank", "thanks", "thx", "ty"} & set(words):
            return "yes"
    labels, vectors = _exemplars(embedder)
    scores = vectors @ vector
    best = int(np.argmax(scores))
    return labels[best] if float(scores[best]) >= MIN_COSINE else None
