"""Worker heartbeats: each worker writes its own to Redis every ``HEARTBEAT_S`` seconds
(generation/worker.py), and the key expires when the worker stops; ``/readyz``, ``/metrics`` and
``/ops/`` read them all here.

Nothing here loads a model: the web process reads heartbeats too.
"""

from __future__ import annotations

import json
from typing import Any

from conversations.redis_client import key, redis_client

HEARTBEAT_S = 5
HEARTBEAT_TTL_S = 15


def beat_key(worker: str) -> str:
    return key("worker", worker)


def beat_write(worker: str, info: dict[str, Any]) -> None:
    redis_client().set(beat_key(worker), json.dumps(info), ex=HEARTBEAT_TTL_S)


def beat_delete(worker: str) -> None:
    redis_client().delete(beat_key(worker))


def beats() -> list[dict[str, Any]]:
    """The last heartbeat of every live worker, each with its ``name`` (Celery's hostname).
    Raises ``redis.RedisError`` when Redis is unreachable."""
    client = redis_client()
    prefix = beat_key("")
    keys = list(client.scan_iter(f"{prefix}*"))
    values: Any = client.mget(keys) if keys else []
    found = []
    for raw_key, raw in zip(keys, values, strict=True):
        if raw:
            beat = json.loads(raw)
            beat["name"] = raw_key.decode()[len(prefix) :]
            found.append(beat)
    return found
