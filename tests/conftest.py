"""Shared fixtures: real Redis (embedded unless REDIS_URL is set), a tiny GPT-2 built by the
project's own builder, a real Celery worker process, and a real ASGI server process.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.conf import settings

from chatsite import embedded_redis
from chatsite.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
_redis_proc: subprocess.Popen[bytes] | None = None
# Every session gets its own queue, so a `make run` worker sharing the Redis never takes
# the tests' tasks (and vice versa).
TEST_QUEUE = f"test-generation-{uuid.uuid4().hex[:8]}"


def pytest_configure(config: pytest.Config) -> None:
    global _redis_proc
    if settings.REDIS_EMBEDDED:
        _redis_proc = embedded_redis.start(Path(settings.DATA_DIR))
        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    settings.GENERATION_QUEUE = TEST_QUEUE
    celery_app.conf.task_default_queue = TEST_QUEUE


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded_redis.stop(_redis_proc)


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Any) -> None:
    """Every test client comes from 127.0.0.1: limits are off unless a test sets its own."""
    settings.RATE_LIMIT_MESSAGES_PER_CONVERSATION = 0
    settings.RATE_LIMIT_MESSAGES_PER_ADDRESS = 0
    settings.RATE_LIMIT_CONVERSATIONS_PER_ADDRESS = 0


# --- tiny model -------------------------------------------------------------------------------
TINY_SPEC_ARGS: dict[str, Any] = {
    "n_layer": 2,
    "n_embd": 64,
    "n_head": 2,
    "n_positions": 256,
    "vocab_size": 600,
    "steps": 120,
    "batch_size": 16,
    "learning_rate": 3e-3,
    "seed": 99,
}


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    """A 2-layer GPT-2 trained for a few seconds on the small-talk dialogues (cached)."""
    from generation import dialogues, offline

    spec = offline.ModelSpec(**TINY_SPEC_ARGS)
    key = hashlib.sha256(json.dumps(TINY_SPEC_ARGS, sort_keys=True).encode()).hexdigest()[:10]
    path = Path(settings.DATA_DIR) / "test-models" / f"tiny-{key}"
    if not offline.is_ready(path):
        offline.build_model(path, dialogues.smalltalk_examples("Test Shop"), spec)
    return path


# --- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "") + "@" if db["USER"] else ""
    return f"postgresql://{auth}{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def service_env(model_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(settings.DATA_DIR),
        "GENERATION_MODEL": str(model_path),
        "GENERATION_MAX_NEW_TOKENS": "32",
        "STREAM_COALESCE_MS": "0",
        "RATE_LIMIT_MESSAGES_PER_CONVERSATION": "0",
        "RATE_LIMIT_MESSAGES_PER_ADDRESS": "0",
        "RATE_LIMIT_CONVERSATIONS_PER_ADDRESS": "0",
        "GENERATION_QUEUE": TEST_QUEUE,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def _wait_for(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_worker(
    env: dict[str, str],
    *,
    queue: str,
    name: str,
    concurrency: int = 8,
    wait_model: bool = True,
    redis_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (thread pool) on ``queue``; returns once its heartbeat shows."""
    from generation import heartbeat

    log = open(Path(settings.DATA_DIR) / f"test-worker-{name}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chatsite",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(concurrency),
            "--queues",
            queue,
            "--hostname",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env={**env, "GENERATION_QUEUE": queue},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
    )
    client = redis.Redis.from_url(redis_url or settings.REDIS_URL)

    def ready() -> bool:
        raw = cast(bytes | None, client.get(heartbeat.beat_key(f"{name}@{socket.gethostname()}")))
        if raw is None:
            return False
        beat = json.loads(str(raw, "utf-8"))
        return bool(beat.get("model_loaded") or beat.get("load_error")) if wait_model else True

    try:
        _wait_for(ready, 90, f"celery worker {name}", proc)
    except Exception:
        proc.kill()
        raise
    return proc


@pytest.fixture(scope="session")
def celery_worker_process(
    django_db_setup: None, django_db_blocker: Any, tiny_model_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (thread pool) generating with the tiny model against the test DB."""
    with django_db_blocker.unblock():
        env = service_env(tiny_model_path)
    proc = start_worker(env, queue=TEST_QUEUE, name=f"test-{uuid.uuid4().hex[:6]}")
    try:
        yield proc
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def live_server_url(
    celery_worker_process: subprocess.Popen[bytes], django_db_blocker: Any, tiny_model_path: Path
) -> Iterator[str]:
    """The real ASGI app under uvicorn, as `make run` starts it."""
    import urllib.request

    port = free_port()
    log = open(Path(settings.DATA_DIR) / "test-web.log", "wb")  # noqa: SIM115
    with django_db_blocker.unblock():
        env = service_env(tiny_model_path)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "chatsite.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws-per-message-deflate",
            "false",
            "--lifespan",
            "off",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        _wait_for(up, 30, "uvicorn", proc)
        yield url
    finally:
        _stop(proc)
        log.close()
