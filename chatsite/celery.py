"""The Celery app. Workers: ``celery -A chatsite worker -P threads`` (see ``chatsite.runner``)."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from celery import Celery
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

logger = logging.getLogger(__name__)

app = Celery("parley")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery beat sends tasks by name and needs none of the task modules; the workers' modules
# load torch (~20 s and hundreds of MB on a small machine), which beat would otherwise pay
# for at every start.
if "beat" not in sys.argv[1:]:
    app.autodiscover_tasks()

_restore_unacked = kombu_redis.QoS.restore_unacked
_ack = kombu_redis.QoS.ack
_BROKER_GONE = (AttributeError, OSError, kombu_redis.redis.RedisError)


def _restore_unacked_or_log(self: Any, client: Any = None) -> Any:
    """kombu 5.7: when Redis goes away while a message is unacknowledged, restoring it on
    channel close dereferences the already-closed connection (``'NoneType' object has no
    attribute 'hostname'``) and the worker exits with "Unrecoverable error". Our Redis keeps
    nothing across a restart anyway, and the reply sweeper re-enqueues unfinished replies from
    the database (``generation.worker``), so log it and let the worker reconnect."""
    try:
        return _restore_unacked(self, client)
    except _BROKER_GONE as exc:
        logger.warning("could not restore unacknowledged messages after losing the broker: %r", exc)
        self._delivered.clear()
        return None


def _ack_or_log(self: Any, delivery_tag: Any) -> None:
    """The same for a late ack on a channel whose connection died: the task is idempotent, so a
    lost ack at worst redelivers a reply that is already done (and the claim skips it)."""
    try:
        _ack(self, delivery_tag)
    except _BROKER_GONE as exc:
        logger.warning("could not ack %s after losing the broker: %r", delivery_tag, exc)
        self._delivered.pop(delivery_tag, None)


kombu_redis.QoS.restore_unacked = _restore_unacked_or_log  # type: ignore[method-assign]
kombu_redis.QoS.ack = _ack_or_log  # type: ignore[method-assign]
