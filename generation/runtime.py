"""The process-wide engine: loaded once, reloaded when a new responder is saved.

Only Celery workers call ``get_engine``; nothing else loads models.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from django.conf import settings

from generation.engine import Engine, GenerationError
from generation.knowledge.embedder import Embedder
from generation.model_store import is_ready, model_location, model_version

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engine: Engine | None = None
_key: tuple[str, float] | None = None
last_load_error: str = ""


class ModelUnavailable(GenerationError):
    """The offline responder has not been built yet (a fallback answers meanwhile)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _version(location: str) -> float:
    path = Path(location)
    return model_version(path) if path.exists() else 0.0


def get_engine() -> Engine:
    global _engine, _key, last_load_error
    location = model_location()
    if not settings.GENERATION_MODEL and not is_ready(Path(location)):
        raise ModelUnavailable("the offline responder is not built yet")
    key = (location, _version(location))
    if _engine is not None and _key == key:
        return _engine
    with _lock:
        if _engine is not None and _key == key:
            return _engine
        try:
            engine = Engine.load(
                location,
                device=settings.GENERATION_DEVICE,
                dtype=settings.GENERATION_DTYPE,
                max_batch=settings.GENERATION_MAX_BATCH,
                draft_tokens=settings.GENERATION_DRAFT_TOKENS,
                fast_paths=settings.GENERATION_FAST_PATHS,
            )
        except Exception as exc:
            last_load_error = f"{exc.__class__.__name__}: {exc}"
            logger.exception("could not load model %s", location)
            raise GenerationError(f"could not load model {location}: {exc}", retryable=False) from exc
        last_load_error = ""
        if engine.device.type == "cpu":
            # Query embeddings run between the engine's steps, on its thread (see Embedder).
            Embedder.get().run_on(engine.call_soon, engine.thread)
        old, _engine, _key = _engine, engine, key
        if old is not None:
            # Let the old engine's streams finish before it goes.
            threading.Timer(settings.GENERATION_TIMEOUT, old.close).start()
        return engine


def current_engine() -> Engine | None:
    return _engine
