"""The retrieval index: every active article cut into passages and units (sentences), each
embedded with MiniLM, plus BM25 over the passages; ``search`` ranks passages.

A passage scores by its cosine to the question — half its own text in context (title and
heading), half its best sentence, or an example question of its article if that is closer —
mixed with keyword evidence and a little of its article title's cosine. Vectors are cached
on the article rows, keyed by their content, so an edit or import never leaves a stale vector
behind. ``bench/retrieval.py`` measures what each signal buys.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, Max

from generation.knowledge.bm25 import BM25, tokenize
from generation.knowledge.embedder import Embedder, embedding_model_name
from generation.knowledge.passages import Outline, Passage, in_context, outline
from generation.knowledge.spelling import Speller
from generation.models import Article

logger = logging.getLogger(__name__)

# Part of each article's embedding key: a change to how articles are cut into passages and
# units (generation/knowledge/passages.py) changes it, so stored embeddings are made again.
CACHE_LAYOUT = "v7-list-sentences"


@dataclass(frozen=True)
class Weights:
    """How the signals combine; ``bench/retrieval.py`` compares settings."""

    use_questions: bool = True
    use_units: bool = True
    # A passage's cosine: its text in context and its best unit, half and half (the best unit
    # alone lets one stray sentence carry a passage; the text alone misses a one-line answer).
    unit_share: float = 0.5
    keyword_weight: float = 0.2
    keyword_scale: float = 4.0
    # Added times the cosine of the passage's article title: a title names what the whole
    # article is about ("Using your phone abroad (roaming)"), where one passage of another
    # article may match the question's words as well ("calls to Mexico on Unlimited Max").
    title_weight: float = 0.05


@dataclass(frozen=True)
class Entry:
    """One article as the index holds it."""

    id: int
    title: str
    url: str
    tags: tuple[str, ...]
    questions: tuple[str, ...]
    outline: Outline
    unit_vectors: np.ndarray  # one row per unit of the outline
    context_vectors: np.ndarray  # one row per unit, embedded with its title and heading


@dataclass(frozen=True)
class PassageHit:
    entry: Entry
    passage: Passage
    score: float
    cosine: float  # the passage's cosine (see ``KnowledgeIndex.search``)
    keyword: float  # BM25, squashed into 0..1

    @property
    def title(self) -> str:
        return self.entry.title

    @property
    def article_id(self) -> int:
        return self.entry.id


class KnowledgeIndex:
    def __init__(self, entries: list[Entry], matrices: list[np.ndarray], embedder: Any, weights: Weights) -> None:
        self.entries = entries
        self.embedder = embedder
        self.weights = weights
        passage_rows, title_rows, question_rows = [], [], []
        self.passages: list[tuple[int, Passage]] = []
        unit_starts: list[int] = []
        question_owner: list[int] = []
        units_seen = 0
        for index, (entry, matrix) in enumerate(zip(entries, matrices, strict=True)):
            n_passages, n_units = len(entry.outline.passages), len(entry.outline.units)
            passage_rows.append(matrix[:n_passages])
            title_rows.append(matrix[n_passages + 2 * n_units : n_passages + 2 * n_units + 1])
            question_rows.append(matrix[n_passages + 2 * n_units + 1 :])
            question_owner += [index] * (len(matrix) - n_passages - 2 * n_units - 1)
            for passage in entry.outline.passages:
                self.passages.append((index, passage))
                unit_starts.append(units_seen + passage.start)
            units_seen += n_units
        dim = embedder.dim
        self.passage_matrix = np.concatenate(passage_rows) if passage_rows else np.zeros((0, dim), np.float32)
        self.unit_matrix = (
            np.concatenate([e.unit_vectors for e in entries]) if entries else np.zeros((0, dim), np.float32)
        )
        self.unit_starts = np.array(unit_starts, dtype=np.int64)
        self.title_matrix = np.concatenate(title_rows) if title_rows else np.zeros((0, dim), np.float32)
        self.question_matrix = np.concatenate(question_rows) if question_rows else np.zeros((0, dim), np.float32)
        self.question_owner = np.array(question_owner, dtype=np.int64)
        self.passage_owner = np.array([owner for owner, _ in self.passages], dtype=np.int64)
        docs = []
        for owner, passage in self.passages:
            entry = entries[owner]
            words = [entry.title, passage.heading, passage.text, " ".join(entry.tags)]
            if self.weights.use_questions:
                words += entry.questions
            docs.append(tokenize(" ".join(words)))
        self.bm25 = BM25(docs)
        self._words: set[str] | None = None
        self._speller: Speller | None = None
        self._word_vectors: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def mentions(self, token: str) -> bool:
        """Whether any active article contains ``token`` (case-insensitive, as a word)."""
        if self._words is None:
            text = " ".join(f"{e.title} {' '.join(e.outline.units)}" for e in self.entries).lower()
            self._words = set(_IDENTIFIER_WORD.findall(text))
        return token.lower() in self._words

    def word_vectors(self, query: str, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of ``query`` and of each of the articles' ``words``. A word's vector is
        kept once made (the articles' words are a bounded vocabulary; queries are not kept):
        each embedding runs on the engine's thread, between its decoding steps."""
        missing = sorted({w for w in words if w not in self._word_vectors})
        vectors = self.embedder.encode([query, *missing])
        self._word_vectors.update(zip(missing, vectors[1:], strict=True))
        dim = vectors.shape[1]
        rows = np.stack([self._word_vectors[w] for w in words]) if words else np.zeros((0, dim), np.float32)
        return vectors[0], rows

    @property
    def speller(self) -> Speller:
        """Mends customers' typos against the articles' words (generation/knowledge/spelling.py)."""
        if self._speller is None:
            self._speller = Speller(
                f"{e.title} {' '.join(e.outline.units)} {' '.join(e.questions)}" for e in self.entries
            )
        return self._speller

    def search(
        self, query: str, k: int = 5, *, vector: np.ndarray | None = None, within: Entry | None = None
    ) -> list[PassageHit]:
        """The ``k`` best passages for ``query`` (a customer's words), best first; only
        ``within``'s passages, when an article is given."""
        if not self.passages:
            return []
        v = vector if vector is not None else self.embedder.encode_query(query)
        cosine = self.passage_matrix @ v
        if self.weights.use_units and len(self.unit_matrix):
            best_unit = np.maximum.reduceat(self.unit_matrix @ v, self.unit_starts)
            cosine = (1 - self.weights.unit_share) * cosine + self.weights.unit_share * best_unit
        own = cosine.copy()
        if self.weights.use_questions and len(self.question_matrix):
            by_article = np.full(len(self.entries), -1.0, dtype=np.float32)
            np.maximum.at(by_article, self.question_owner, self.question_matrix @ v)
            cosine = np.maximum(cosine, by_article[self.passage_owner])
        raw = self.bm25.scores(tokenize(query))
        keyword = raw / (raw + self.weights.keyword_scale)
        w = self.weights.keyword_weight
        # A passage's own match breaks ties between passages of an article its questions matched.
        combined = (1 - w) * cosine + w * keyword + 1e-3 * own
        if self.weights.title_weight:
            combined += self.weights.title_weight * (self.title_matrix @ v)[self.passage_owner]
        if within is not None:
            own_rows = np.flatnonzero(self.passage_owner == next(i for i, e in enumerate(self.entries) if e is within))
            order = own_rows[np.argsort(-combined[own_rows])][:k]
        else:
            order = np.argsort(-combined)[:k]
        return [
            PassageHit(
                entry=self.entries[self.passages[i][0]],
                passage=self.passages[i][1],
                score=float(combined[i]),
                cosine=float(cosine[i]),
                keyword=float(keyword[i]),
            )
            for i in order
        ]

    def idf(self, term: str) -> float:
        """How rare ``term`` (a token of ``tokenize``) is among the passages; 0 when absent."""
        return self.bm25.idf.get(term, 0.0)


_IDENTIFIER_WORD = re.compile(r"[#a-z0-9][a-z0-9-]*")


def confidence(hits: Sequence[PassageHit]) -> float:
    """How sure retrieval is that the top passage answers the question: its best cosine plus
    keyword evidence (``bench/retrieval.py`` shows how it separates the answerable questions
    of the evaluation sets from the unanswerable ones)."""
    if not hits:
        return 0.0
    return float(hits[0].cosine + 0.3 * hits[0].keyword)


# --- the process-wide index, rebuilt when the knowledge base changes ---------------------------
_index_lock = threading.Lock()
_index: KnowledgeIndex | None = None
_index_key: tuple[Any, ...] | None = None


def kb_version() -> tuple[Any, ...]:
    summary = Article.objects.filter(active=True).aggregate(n=Count("id"), latest=Max("updated_at"))
    return (summary["n"], summary["latest"])


def get_index(weights: Weights | None = None) -> KnowledgeIndex:
    """The index of the active articles, as of now (embeds whatever changed)."""
    global _index, _index_key
    weights = weights or Weights()
    key = (*kb_version(), embedding_model_name(), weights)
    if _index is not None and _index_key == key:
        return _index
    with _index_lock:
        if _index is not None and _index_key == key:
            return _index
        index = build_index(weights)
        _index, _index_key = index, key
        return index


def _cache_key(article: Article, model_name: str) -> str:
    return article.content_key(f"{model_name}|{CACHE_LAYOUT}")


def build_index(weights: Weights) -> KnowledgeIndex:
    embedder = Embedder.get()
    rows = list(Article.objects.filter(active=True).order_by("pk"))
    outlines = {a.pk: outline(a.body) for a in rows}
    stale = [a for a in rows if a.embedding is None or a.embedding_key != _cache_key(a, embedder.name)]
    if stale:
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        for article in stale:
            shape = outlines[article.pk]
            # One row each, in this order: the passages in context, the units, the units in
            # context (evidence selection reads these), the title, the example questions.
            texts_of = [
                *(in_context(article.title, p.heading, p.text) for p in shape.passages),
                *shape.units,
                *(
                    in_context(article.title, p.heading, shape.units[u])
                    for p in shape.passages
                    for u in range(p.start, p.end)
                ),
                article.title,
                *article.question_list(),
            ]
            spans.append((len(texts), len(texts) + len(texts_of)))
            texts.extend(texts_of)
        vectors = embedder.encode(texts)
        for article, (start, end) in zip(stale, spans, strict=True):
            article.embedding = vectors[start:end].astype(np.float32).tobytes()
            article.embedding_key = _cache_key(article, embedder.name)
            # update(), not save(): embedding is a cache and must not bump updated_at.
            Article.objects.filter(pk=article.pk).update(
                embedding=article.embedding, embedding_key=article.embedding_key
            )
        logger.info("embedded %d changed articles (%d texts)", len(stale), len(texts))
    entries: list[Entry] = []
    matrices: list[np.ndarray] = []
    for article in rows:
        shape = outlines[article.pk]
        matrix = np.frombuffer(bytes(article.embedding or b""), dtype=np.float32).reshape(-1, embedder.dim)
        n_passages, n_units = len(shape.passages), len(shape.units)
        entries.append(
            Entry(
                id=article.pk,
                title=article.title,
                url=article.url,
                tags=tuple(article.tags or []),
                questions=tuple(article.question_list()),
                outline=shape,
                unit_vectors=matrix[n_passages : n_passages + n_units],
                context_vectors=matrix[n_passages + n_units : n_passages + 2 * n_units],
            )
        )
        matrices.append(matrix)
    return KnowledgeIndex(entries, matrices, embedder, weights)
