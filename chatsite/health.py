"""``/healthz`` (process up) and ``/readyz`` (database, Redis, workers reachable)."""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

# Workers refresh this key every few seconds (generation.worker); it expires when they stop.
WORKER_KEY_PREFIX = "parley:worker:"


def redis_client(timeout: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness() -> dict[str, object]:
    checks: dict[str, object] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc.__class__.__name__}: {exc}"
    try:
        client = redis_client()
        client.ping()
        checks["redis"] = "ok"
        workers = sorted(k.decode()[len(WORKER_KEY_PREFIX) :] for k in client.scan_iter(f"{WORKER_KEY_PREFIX}*"))
        checks["workers"] = workers if workers else "error: no generation worker is running"
    except redis.RedisError as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}: {exc}"
        checks["workers"] = "unknown: Redis unreachable"
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = readiness()
    ok = checks["database"] == "ok" and checks["redis"] == "ok" and isinstance(checks["workers"], list)
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "checks": checks,
            "ms": round((time.monotonic() - started) * 1000),
        },
        status=200 if ok else 503,
    )
