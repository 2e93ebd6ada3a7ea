"""The process's Redis client for Parley's own keys, and the prefix those keys share.

Rate limits, stop flags, worker heartbeats and the queue depth all go through ``redis_client``:
one connection pool per process (redis-py's pool is thread-safe and reopens after a fork). The
channel layer and Celery keep their own connections (channels-redis, kombu).
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

TIMEOUT_S = 2.0

_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """The client for ``REDIS_URL``, made on first use; commands time out after ``TIMEOUT_S``."""
    url = settings.REDIS_URL
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
            _clients[url] = client
        return client


def key(*parts: str) -> str:
    """A key of Parley's: ``REDIS_KEY_PREFIX`` and ``parts``, joined by colons."""
    return ":".join([settings.REDIS_KEY_PREFIX, *parts])
