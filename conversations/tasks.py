"""Periodic housekeeping (Celery beat runs it; `make run` starts beat inside the worker)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from conversations import services


@shared_task(ignore_result=True)
def purge_old_conversations() -> int:
    if settings.RETENTION_DAYS <= 0:
        return 0
    return services.conversations_purge(older_than_days=settings.RETENTION_DAYS, actor="system")
