"""``/healthz`` (process up) and ``/readyz`` (database, Redis, workers reachable)."""

from __future__ import annotations

import time

import redis
from django.db import connection
from django.http import HttpRequest, JsonResponse

from conversations.redis_client import redis_client
from generation import heartbeat


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
        redis_client().ping()
        checks["redis"] = "ok"
        beats = heartbeat.beats()
        workers = sorted(b["name"] for b in beats)
        checks["workers"] = workers if workers else "error: no generation worker is running"
        failed = [b["load_error"] for b in beats if b.get("load_error")]
        # Ready while at least one worker has a model (or is still loading it).
        checks["model"] = (
            f"error: the model failed to load: {failed[0]}" if workers and len(failed) == len(workers) else "ok"
        )
    except redis.RedisError as exc:
        checks["redis"] = f"error: {exc.__class__.__name__}: {exc}"
        checks["workers"] = "unknown: Redis unreachable"
        checks["model"] = "unknown: Redis unreachable"
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = readiness()
    ok = (
        checks["database"] == "ok"
        and checks["redis"] == "ok"
        and isinstance(checks["workers"], list)
        and checks.get("model") == "ok"
    )
    return JsonResponse(
        {
            "status": "ok" if ok else "unavailable",
            "checks": checks,
            "ms": round((time.monotonic() - started) * 1000),
        },
        status=200 if ok else 503,
    )
