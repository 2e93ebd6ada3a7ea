"""The ASGI web process stays lean: it stores and streams conversations without ever loading
torch or transformers (the worker side does that)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, service_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker_process")]


def test_the_web_process_serves_a_conversation_without_loading_torch_or_transformers(tiny_model_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-m", "tests.integration.web_probe"],
        check=False,
        cwd=ROOT,
        env=service_env(tiny_model_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert probe.returncode == 0, probe.stderr[-4000:]
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    # It stored the message (ack) and relayed the reply the worker streamed (deltas, message).
    assert report["frames"][0] == "ack"
    assert "delta" in report["frames"] and report["frames"][-1] == "message"
    assert report["reply"]["status"] == "complete" and report["reply"]["text"]
    assert report["loaded"] == {"torch": False, "transformers": False, "sentence_transformers": False}
    assert not report["libtorch_mapped"]
