"""Worker lifecycle: a heartbeat that ``/readyz`` reads, engine preload, and a sweeper that
re-enqueues replies whose task was lost (broker down at enqueue, worker killed).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from generation import heartbeat

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3

_stop = threading.Event()
_hostname = ""


def _heartbeat(concurrency: int) -> None:
    from generation import runtime

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


def sweep_stuck_replies() -> int:
    """Re-enqueue replies that no task will finish; returns how many were touched."""
    from conversations import services
    from conversations.models import Message
    from generation.tasks import generate_reply

    now = timezone.now()
    pending_cutoff = now - timedelta(seconds=2 * settings.REPLY_SWEEP_SECONDS)
    streaming_cutoff = now - timedelta(seconds=settings.GENERATION_TIMEOUT * 1.5)
    stuck = list(
        Message.objects.filter(role=Message.Role.ASSISTANT)
        .filter(
            Q(status=Message.Status.PENDING, updated_at__lt=pending_cutoff)
            | Q(status=Message.Status.STREAMING, claimed_at__lt=streaming_cutoff)
        )
        .order_by()
        .values_list("id", "attempts")[:200]
    )
    for message_id, attempts in stuck:
        if attempts >= MAX_ATTEMPTS:
            services.reply_fail(message_id=str(message_id), error="gave up after repeated lost tasks")
        else:
            Message.objects.filter(id=message_id).update(updated_at=now)
            generate_reply.delay(str(message_id))
    return len(stuck)


def _sweeper() -> None:
    while not _stop.wait(settings.REPLY_SWEEP_SECONDS):
        try:
            count = sweep_stuck_replies()
            if count:
                logger.warning("re-enqueued %d stuck replies", count)
        except Exception:
            logger.warning("sweep failed", exc_info=True)


def _preload() -> None:
    from generation import retrieval, runtime

    try:
        retrieval.get_index()
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
    for target, args in ((_heartbeat, (concurrency,)), (_sweeper, ()), (_preload, ())):
        threading.Thread(target=target, args=args, daemon=True, name=target.__name__).start()


@worker_shutdown.connect
def on_worker_shutdown(**kwargs: Any) -> None:
    _stop.set()
    with contextlib.suppress(Exception):
        heartbeat.beat_delete(_hostname)
