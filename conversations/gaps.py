"""Knowledge gaps: the questions the bot handed over because the help centre had no answer,
grouped by what they ask about ("12 customers asked about gift cards").

The web process groups them, and it never loads a model: questions are compared by their
content words (lowercased, stop words dropped, a small suffix-stripping stemmer), each a
weighted set, and grouped greedily: a question joins the group whose average word weights it
overlaps most (weighted Jaccard), when that reaches ``SIMILAR``; else it starts a group. The
topic the bot named in its reply ("I couldn't find anything about *kayaks* …") weighs twice
the question's other words.
Pure functions, no database.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# How a reply that found nothing in the help centre begins (generation/answering/phrases.py:
# ``NOT_FOUND`` and ``not_found_about``); tests/conversations/test_gaps.py holds the two to it.
NOT_FOUND_OPENING = "I'm sorry, I couldn't find "
_TOPIC = re.compile(r"couldn't find anything about (.+?) in our help centre")
# A question joins a group from this weighted Jaccard similarity up.
SIMILAR = 0.3
# Beside the topic the bot named, a question's other words count half.
OTHER_WORDS_WEIGHT = 0.5
LABEL_WORDS = 3

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further had hadn't has hasn't have haven't having he her here hers herself him himself his how
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
    of off on once only or other ought our ours ourselves out over own same shan't she should shouldn't so some
    such than that that's the their theirs them themselves then there there's these they they're this those
    through to too under until up very was wasn't we we're were weren't what what's when where which while who
    whom why will with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves
    hi hello hey thanks thank please pls ok okay yes yeah hmm also just still really actually maybe anyone
    want wanted need needs like would know tell help question questions get got give go going make use
    possible way ways anything something thing things one much many lot well sure good hope
    """.split()
)
_WORD = re.compile(r"[a-z][a-z']*[a-z]|[a-z]")


def stem(word: str) -> str:
    """A word's rough stem, so that "cards", "shipping" and "shipped" meet "card" and "ship"."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    for suffix, shortest in (("ing", 6), ("ed", 5)):
        if word.endswith(suffix) and len(word) >= shortest:
            base = word[: -len(suffix)]
            if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # shipping -> ship, but not dressed -> dres
            return base
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> list[tuple[str, str]]:
    """``(stem, word)`` for each content word of ``text``, in order."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [(stem(w), w) for w in words if w not in STOP_WORDS and len(w) > 1 and not w.isdigit()]


def topic_of(reply: str) -> str:
    """What the bot said the help centre has nothing about ("kayaks"), or ""."""
    match = _TOPIC.search(reply)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Question:
    """A customer's question the bot could not answer, and the bot's reply to it."""

    text: str
    conversation_id: str
    asked_at: datetime
    reply: str = ""

    def weights(self) -> dict[str, float]:
        topic = {stemmed for stemmed, _ in content_words(topic_of(self.reply))}
        other = OTHER_WORDS_WEIGHT if topic else 1.0
        found = {stemmed: other for stemmed, _ in content_words(self.text)}
        return found | dict.fromkeys(topic, 1.0)


@dataclass
class Gap:
    """Questions about one thing; ``label`` is its top words, as customers wrote them."""

    questions: list[Question] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)
    surface: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, question: Question, weights: dict[str, float]) -> None:
        self.questions.append(question)
        self.totals.update(weights)
        self.surface.update(content_words(question.text))
        self.surface.update(content_words(topic_of(question.reply)))

    def centroid(self) -> dict[str, float]:
        count = len(self.questions)
        return {word: total / count for word, total in self.totals.items()}

    @property
    def customers(self) -> int:
        return len({q.conversation_id for q in self.questions})

    @property
    def conversation_ids(self) -> list[str]:
        return list(dict.fromkeys(q.conversation_id for q in self.questions))

    @property
    def last_asked(self) -> datetime:
        return max(q.asked_at for q in self.questions)

    @property
    def label(self) -> str:
        """Up to ``LABEL_WORDS`` of the words most of the group shares, in the order the first
        question that has them uses them."""
        centroid = self.centroid()
        ranked = sorted(centroid, key=lambda w: (-centroid[w], w))
        if len(self.questions) == 1:  # its topic when the bot named one, else its words
            shared = [w for w in ranked if centroid[w] == centroid[ranked[0]]]
        else:
            shared = [w for w in ranked if centroid[w] > 0.5]
        top = shared[:LABEL_WORDS] or ranked[:1]
        spelled = {}
        for stemmed in top:
            forms = [(word, count) for (s, word), count in self.surface.items() if s == stemmed]
            # The commonest spelling; on a tie, the first asked.
            spelled[stemmed] = max(forms, key=lambda form: form[1])[0] if forms else stemmed
        for question in self.questions:
            order = [s for s, _ in content_words(f"{question.text} {topic_of(question.reply)}")]
            if all(s in order for s in top):
                top.sort(key=order.index)
                break
        return " ".join(spelled[s] for s in top) or "other questions"


def similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Weighted Jaccard: the shared weight over the whole weight (0 when either is empty)."""
    words = a.keys() | b.keys()
    whole = sum(max(a.get(w, 0.0), b.get(w, 0.0)) for w in words)
    if not whole:
        return 0.0
    return sum(min(a.get(w, 0.0), b.get(w, 0.0)) for w in words) / whole


def group(questions: Iterable[Question], *, similar: float = SIMILAR) -> list[Gap]:
    """The questions grouped by what they ask, largest group first (then the most recently
    asked). Deterministic for a given order of ``questions``."""
    gaps: list[Gap] = []
    for question in questions:
        weights = question.weights()
        best, best_score = None, 0.0
        for gap in gaps:
            score = similarity(weights, gap.centroid())
            if score > best_score:
                best, best_score = gap, score
        if best is None or best_score < similar or not weights:
            best = Gap()
            gaps.append(best)
        best.add(question, weights)
    return sorted(gaps, key=lambda g: (-g.customers, -len(g.questions), -g.last_asked.timestamp()))


def summary(gap: Gap) -> str:
    """ "12 customers asked about gift cards"."""
    count = gap.customers
    return f"{count} customer{'s' if count != 1 else ''} asked about {gap.label}"


def examples(gap: Gap, limit: int = 5) -> Sequence[Question]:
    """The group's most recent distinct questions."""
    seen: dict[str, Question] = {}
    for question in sorted(gap.questions, key=lambda q: q.asked_at, reverse=True):
        seen.setdefault(question.text.strip().lower(), question)
    return list(seen.values())[:limit]
