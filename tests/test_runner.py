"""How `make run` lays out its processes (chatsite/runner.py)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from chatsite import runner


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
