"""Waiting for what a test checks, instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float, what: str, *, interval: float = 0.2) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true, and
    return that; fail the test, naming ``what`` it waited for, after ``timeout`` seconds.
    Exceptions from ``predicate`` propagate (a process that died, for instance)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"still waiting after {timeout:g}s for {what}")
        time.sleep(interval)
