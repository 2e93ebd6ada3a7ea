"""Worker lifecycle: a heartbeat that ``/readyz`` reads, and engine preload.

Replies whose task was lost are swept up by Celery beat (conversations/tasks.py), once for
the whole deployment rather than once per worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from generation import heartbeat, runtime
from generation.knowledge import index as retrieval

logger = logging.getLogger(__name__)

_stop = threading.Event()
_hostname = ""


def _heartbeat(concurrency: int) -> None:
    while not _stop.is_set():
        engine = runtime.current_engine()
        info = {
            "pid": os.getpid(),
            "concurrency": concurrency,
            "model": runtime.model_location(),
            "model_loaded": engine is not None,
            "load_error": runtime.last_load_error,
            "active": engine.active if engine else 0,
            "waiting": engine.waiting if engine else 0,
            "draft_tokens": engine.drafted if engine else 0,
            "draft_accepted": engine.accepted if engine else 0,
            "at": time.time(),
        }
        try:
            heartbeat.beat_write(_hostname, info)
        except Exception:  # Redis restarting: try again next beat
            logger.warning("heartbeat failed", exc_info=True)
        _stop.wait(heartbeat.HEARTBEAT_S)


def _preload() -> None:
    try:
        # The speller too, so that the first customer does not wait for its word list.
        retrieval.get_index().speller  # noqa: B018 - built on first use
    except Exception:
        logger.warning("knowledge index not built at start", exc_info=True)
    try:
        runtime.get_engine()
    except Exception as exc:  # logged; replies will report it too
        logger.warning("model not loaded at start: %s", exc)


@worker_ready.connect
def on_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    global _hostname
    _hostname = getattr(sender, "hostname", "") or f"worker@{os.getpid()}"
    concurrency = int(getattr(getattr(sender, "controller", None), "concurrency", 0) or settings.WORKER_CONCURRENCY)
    for target, args in ((_heartbeat, (concurrency,)), (_preload, ())):
        threading.Thread(target=target, args=args, daemon=True, name=target.__name__).start()


@worker_shutdown.connect
def on_worker_shutdown(**kwargs: Any) -> None:
    _stop.set()
    with contextlib.suppress(Exception):
        heartbeat.beat_delete(_hostname)
