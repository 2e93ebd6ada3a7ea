"""Periodic housekeeping, sent by Celery beat (``CELERY_BEAT_SCHEDULE``; ``make run`` starts
beat, and a multi-server deployment runs exactly one) and run by whichever worker takes it."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from conversations import services

logger = logging.getLogger(__name__)


@shared_task(name="conversations.tasks.purge_old_conversations", ignore_result=True)
def purge_old_conversations() -> int:
    """Delete the conversations idle longer than ``RETENTION_DAYS`` (audited)."""
    if settings.RETENTION_DAYS <= 0:
        return 0
    return services.conversations_purge(older_than_days=settings.RETENTION_DAYS, actor="system")


@shared_task(name="conversations.tasks.sweep_stuck_replies", ignore_result=True)
def sweep_stuck_replies() -> int:
    """Re-enqueue the replies no task will finish (a lapsed lease, a lost task)."""
    count = services.replies_sweep()
    if count:
        logger.warning("re-enqueued %d stuck replies", count)
    return count
