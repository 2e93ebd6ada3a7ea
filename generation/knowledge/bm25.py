"""Keyword evidence: a tokenizer with light stemming, and BM25 over a fixed set of documents."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from generation.knowledge.edits import VOWELS

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being am
    do does did doing have has had having i me my mine you your yours we our ours it its this that
    these those there here what which who whom whose when where why how can could would should will
    shall may might must not no yes so than too very just also any some all each every please
    hi hello hey thanks thank about into over under again further then once out up down off only own
    same such both few more most other nor s t don doesn didn isn aren wasn weren won get got""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def stem(word: str) -> str:
    """A light stemmer: plurals, "-ing", "-ed" and a final "e" go, so that "fees" meets "fee",
    "receiving" and "received" meet "receive", and "shipping" meets "ship"."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        stem_ = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem_) >= 3 and VOWELS & set(stem_):
            word = stem_
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "shipp" -> "ship"
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _words(text: str) -> list[str]:
    """The lower-cased words of ``text``, each without what follows an apostrophe."""
    words = (word.replace("’", "'").split("'")[0] for word in _WORD.findall(text.lower()))
    return [word for word in words if word]


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words of ``text`` (stopwords dropped)."""
    return [stem(word) for word in _words(text) if word not in STOPWORDS]


def stems(text: str) -> list[str]:
    """Every word of ``text``, stopwords too, stemmed as ``tokenize`` stems it: the words in the
    order written ("the sort code")."""
    return [stem(word) for word in _words(text)]


class BM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avg = float(self.lengths.mean()) if len(docs) else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        self.df = df
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        # term -> (documents containing it, their term frequencies)
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        rows: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(self.docs):
            for term, tf in doc.items():
                rows.setdefault(term, []).append((i, tf))
        for term, pairs in rows.items():
            ids, tfs = zip(*pairs, strict=True)
            self._postings[term] = (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float32))
        self._norm = self.k1 * (1 - self.b + self.b * self.lengths / (self.avg or 1))

    def scores(self, query: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self.docs), dtype=np.float32)
        for term in set(query):
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, tfs = posting
            out[ids] += self.idf[term] * tfs * (self.k1 + 1) / (tfs + self._norm[ids])
        return out
