"""The worker tasks that conversations start, enqueued by name.

``conversations`` never imports ``generation`` (the worker side, which loads torch): a task
is sent by its registered name to ``GENERATION_QUEUE``, where the workers listen
(generation/tasks.py defines them). The web process thus stays free of the model code.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings

from conversations.redis_client import redis_client

GENERATE_REPLY = "generation.tasks.generate_reply"
SUGGEST_REPLIES = "generation.tasks.suggest_replies"


def reply_generate(reply_id: str) -> None:
    """Ask a worker to generate the pending reply ``reply_id``."""
    current_app.send_task(GENERATE_REPLY, args=[reply_id], queue=settings.GENERATION_QUEUE)


def replies_suggest(conversation_id: str) -> None:
    """Ask a worker for the bot's candidate answers to the conversation's last customer message;
    they reach the staff watching it as a ``staff.suggestions`` event."""
    current_app.send_task(SUGGEST_REPLIES, args=[conversation_id], queue=settings.GENERATION_QUEUE)


def tasks_waiting() -> int:
    """Tasks waiting in ``GENERATION_QUEUE`` (with the Redis broker, a list named after it).
    Raises ``redis.RedisError`` when Redis is unreachable."""
    depth: Any = redis_client().llen(settings.GENERATION_QUEUE)
    return int(depth)
