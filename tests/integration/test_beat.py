"""Celery beat under ``make run``: the retention purge is scheduled and deletes what it must."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from chatsite import embedded_redis
from conversations.models import AuditLog, Conversation
from tests import factories
from tests.conftest import ROOT, free_port, run_queue, service_env
from tests.waiting import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_make_run_schedules_the_purge_and_it_deletes_an_expired_conversation(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    expired, _ = factories.conversation()
    Conversation.objects.filter(pk=expired.pk).update(updated_at=timezone.now() - timedelta(days=40))
    recent, _ = factories.conversation()
    env = service_env(
        tiny_model_path,
        DATA_DIR=str(tmp_path),
        PORT=str(free_port()),
        GENERATION_QUEUE=run_queue("runner"),
        RETENTION_DAYS="30",
        RETENTION_PURGE_SECONDS="2",
    )
    log_path = tmp_path / "runner.log"
    with open(log_path, "wb") as log:
        # The supervisor that `make run` execs, with its own DATA_DIR (beat's schedule lives there).
        runner = subprocess.Popen(
            [sys.executable, "-m", "chatsite.runner"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=embedded_redis.die_with_parent,  # noqa: PLW1509
        )
        try:
            wait_until(
                lambda: not Conversation.objects.filter(pk=expired.pk).exists(),
                120,
                "beat to schedule the purge and a worker to run it",
                interval=0.5,
            )
        finally:
            runner.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                runner.wait(timeout=40)
            except subprocess.TimeoutExpired:
                runner.kill()
    output = log_path.read_text(errors="replace")
    assert "started beat" in output, output[-3000:]
    assert Conversation.objects.filter(pk=recent.pk).exists()
    purge = AuditLog.objects.get(action=AuditLog.Action.PURGE)
    assert purge.actor == "system" and "1 conversation" in purge.detail
    assert runner.returncode == 0 and "[parley] stopped" in output
    assert (tmp_path / "celerybeat-schedule").exists() or list(tmp_path.glob("celerybeat-schedule*"))
