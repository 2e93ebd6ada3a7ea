"""How `make run` lays out its processes (chatsite/runner.py)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from django.test import override_settings

from chatsite import embedded_redis, runner
from chatsite.redisurl import embedded_socket_path


def test_a_cpu_machine_gets_a_worker_per_core_and_a_gpu_one() -> None:
    assert runner.worker_layout(0, "cpu", cores=2) == (2, 1)  # two engines, one intra-op thread each
    assert runner.worker_layout(0, "cpu", cores=16) == (runner.MAX_AUTO_WORKERS, 4)
    assert runner.worker_layout(0, "cuda", cores=16) == (1, 16)  # one copy of the model on the GPU
    assert runner.worker_layout(3, "cpu", cores=2) == (3, 1)  # as the operator asks


@override_settings(WORKER_PROCESSES=2)
def test_each_worker_process_has_its_own_name_and_a_share_of_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 4)
    workers = [c for c in runner.Supervisor().plan("127.0.0.1", 8000) if c.name.startswith("worker")]
    assert len(workers) == 2
    hostnames = {c.argv[c.argv.index("--hostname") + 1] for c in workers}
    assert len(hostnames) == 2  # Celery tells the workers apart by name
    assert all(c.env == {"OMP_NUM_THREADS": "2"} for c in workers)


@override_settings(WORKER_PROCESSES=2)
def test_the_operators_thread_count_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    workers = [c for c in runner.Supervisor().plan("127.0.0.1", 8000) if c.name.startswith("worker")]
    assert all(c.env == {} for c in workers)


def test_the_embedded_redis_comes_back_when_the_one_found_running_goes_away() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pk-", dir="/tmp"))  # short: it holds a Unix socket
    socket = embedded_socket_path(data_dir)
    stopping = embedded_redis.start(data_dir)  # the Redis of a `make run` still stopping
    supervisor = runner.Supervisor(data_dir)
    supervisor.redis = embedded_redis.start(data_dir)  # one answers already: none is started
    assert stopping is not None and supervisor.redis is None
    try:
        embedded_redis.stop(stopping)  # the stopping `make run` takes its Redis away
        assert not embedded_redis.is_up(socket)
        for check in range(1, runner.REDIS_MISSES + 1):
            supervisor.keep_redis(check * runner.REDIS_CHECK_S)
        assert embedded_redis.is_up(socket) and supervisor.redis is not None
        # The supervisor's own Redis, killed, is back at the next check.
        os.kill(supervisor.redis.pid, signal.SIGKILL)
        supervisor.redis.wait()
        supervisor.keep_redis((runner.REDIS_MISSES + 1) * runner.REDIS_CHECK_S)
        assert embedded_redis.is_up(socket)
    finally:
        embedded_redis.stop(stopping)
        embedded_redis.stop(supervisor.redis)
        shutil.rmtree(data_dir, ignore_errors=True)
