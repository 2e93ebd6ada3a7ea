"""Shared fixtures: real Redis (embedded unless REDIS_URL is set), a tiny GPT-2 built by the
project's own builder, a real Celery worker process, and a real ASGI server process.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.conf import settings
from django.db import connection

from chatsite import embedded_redis, runner
from chatsite.celery import app as celery_app
from generation import heartbeat
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
_redis_proc: subprocess.Popen[bytes] | None = None
# Everything this run puts in Redis carries RUN_ID: its own queue, so that a `make run` worker
# sharing the Redis never takes the tests' tasks (and vice versa), and its own key prefix, so
# that rate limits, stop flags, heartbeats and channel groups never mix with another run's.
# At the end the run deletes its own keys and nothing else.
RUN_ID = uuid.uuid4().hex[:8]
TEST_QUEUE = f"test-generation-{RUN_ID}"
TEST_KEY_PREFIX = f"parley-test-{RUN_ID}"


def run_queue(name: str) -> str:
    """A Celery queue of this run's (deleted with its keys at the end)."""
    return f"test-{name}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


def pytest_configure(config: pytest.Config) -> None:
    global _redis_proc
    if settings.REDIS_EMBEDDED:
        _redis_proc = embedded_redis.start(Path(settings.DATA_DIR))
    settings.REDIS_KEY_PREFIX = TEST_KEY_PREFIX
    layer: Any = settings.CHANNEL_LAYERS["default"]
    layer["CONFIG"]["prefix"] = TEST_KEY_PREFIX
    settings.GENERATION_QUEUE = TEST_QUEUE
    celery_app.conf.task_default_queue = TEST_QUEUE


def pytest_unconfigure(config: pytest.Config) -> None:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        mine = list(client.scan_iter(f"*{RUN_ID}*", count=1000))
        if mine:
            client.delete(*mine)
    except redis.RedisError:
        pass  # nothing to clean where Redis is gone
    embedded_redis.stop(_redis_proc)


@pytest.fixture(autouse=True)
def no_rate_limits(settings: Any) -> None:
    """Every test client comes from 127.0.0.1: limits are off unless a test sets its own."""
    settings.RATE_LIMIT_MESSAGES_PER_CONVERSATION = 0
    settings.RATE_LIMIT_MESSAGES_PER_ADDRESS = 0
    settings.RATE_LIMIT_CONVERSATIONS_PER_ADDRESS = 0


# --- tiny model -------------------------------------------------------------------------------
TINY_SPEC_ARGS: dict[str, Any] = {
    "arch": "gpt2",  # the engine's tests check its lean GPT-2 step on this model
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
    """A 2-layer GPT-2 trained for a few seconds on generated support dialogues (cached): it
    writes text, not good answers (the evaluation measures those)."""
    from generation import model_store  # noqa: PLC0415 - torch loads only for the tests that need a model
    from generation.responder import dialogues, training  # noqa: PLC0415 - as above

    spec = training.ModelSpec(**TINY_SPEC_ARGS)
    key = hashlib.sha256(json.dumps(TINY_SPEC_ARGS, sort_keys=True).encode()).hexdigest()[:10]
    path = Path(settings.DATA_DIR) / "test-models" / f"tiny-{key}"
    if not model_store.is_ready(path):
        training.build_model(path, dialogues.corpus_examples(2000, seed=3), spec)
    return path


# --- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
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
        "REDIS_KEY_PREFIX": TEST_KEY_PREFIX,
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


def wait_for_process(proc: subprocess.Popen[bytes], predicate: Callable[[], object], timeout: float, what: str) -> None:
    """``wait_until`` for a child process's readiness; fails at once if the child exits."""

    def ready() -> object:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        return predicate()

    wait_until(ready, timeout, what)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
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
    key_prefix: str | None = None,
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (thread pool) on ``queue``, started as ``make run`` starts
    one; returns once its heartbeat shows (and its model is loaded, with ``wait_model``).
    ``redis_url`` and ``key_prefix``: where the worker writes it, when not this run's."""
    log = open(Path(settings.DATA_DIR) / f"test-worker-{name}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        runner.worker_argv(queue=queue, concurrency=concurrency, hostname=f"{name}@%h"),
        cwd=ROOT,
        env={**env, "GENERATION_QUEUE": queue},
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
    )
    client = redis.Redis.from_url(redis_url or settings.REDIS_URL)
    key = heartbeat.beat_key(f"{name}@{socket.gethostname()}")
    if key_prefix is not None:
        key = key.replace(settings.REDIS_KEY_PREFIX, key_prefix, 1)

    def ready() -> bool:
        raw = cast(bytes | None, client.get(key))
        if raw is None:
            return False
        beat = json.loads(str(raw, "utf-8"))
        return bool(beat.get("model_loaded") or beat.get("load_error")) if wait_model else True

    try:
        wait_for_process(proc, ready, 90, f"celery worker {name}")
    except Exception:
        proc.kill()
        raise
    return proc


def start_beat(env: dict[str, str], *, queue: str, schedule: Path) -> subprocess.Popen[bytes]:
    """Celery beat, started as ``make run`` starts it, sending the periodic tasks to ``queue``;
    returns once it has sent its first task."""
    log_path = Path(settings.DATA_DIR) / f"test-beat-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            runner.beat_argv(schedule=str(schedule)),
            cwd=ROOT,
            env={**env, "GENERATION_QUEUE": queue},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
        )
    try:
        wait_for_process(proc, lambda: "Sending due task" in log_path.read_text(errors="replace"), 60, "celery beat")
    except Exception:
        proc.kill()
        raise
    return proc


def start_web(
    env: dict[str, str], *, log_name: str = "test-web.log", app: str = "chatsite.asgi:application"
) -> tuple[subprocess.Popen[bytes], str]:
    """The real ASGI app (or ``app``, a variant of it) under Uvicorn, started as ``make run``
    starts it; returns the process and its base URL once ``/healthz`` answers."""
    port = free_port()
    log = open(Path(settings.DATA_DIR) / log_name, "ab")  # noqa: SIM115
    argv = runner.web_argv(host="127.0.0.1", port=port)
    argv[argv.index("chatsite.asgi:application")] = app
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_process(proc, lambda: runner.answers(url + "/healthz"), 30, "uvicorn")
    except Exception:
        proc.kill()
        raise
    return proc, url


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
        stop_process(proc)


@pytest.fixture(scope="session")
def live_server_url(
    celery_worker_process: subprocess.Popen[bytes], django_db_blocker: Any, tiny_model_path: Path
) -> Iterator[str]:
    """The real ASGI app under uvicorn, as `make run` starts it."""
    with django_db_blocker.unblock():
        env = service_env(tiny_model_path)
    proc, url = start_web(env)
    try:
        yield url
    finally:
        stop_process(proc)
