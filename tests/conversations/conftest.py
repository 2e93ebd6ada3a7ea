from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.conftest import TEST_QUEUE


@pytest.fixture(autouse=True)
def tasks_wait_for_no_worker() -> Iterator[None]:
    """The conversations tests run without a worker: the tasks they enqueue wait in a queue none
    reads, so the session's worker (started by the browser tests) never takes a reply that a
    test claims and completes itself, playing the worker."""
    queue = settings.GENERATION_QUEUE
    settings.GENERATION_QUEUE = f"{TEST_QUEUE}-unattended"
    try:
        yield
    finally:
        settings.GENERATION_QUEUE = queue
