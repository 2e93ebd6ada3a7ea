from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conversations.models import Message

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


# How long a test's end waits for the worker to finish the replies it is writing.
SETTLE_S = 60.0


@pytest.fixture(autouse=True)
def replies_settled(transactional_db: None) -> Iterator[None]:
    """Each browser test ends once the worker has stored the replies it was writing: the test
    database is emptied after each test, and a reply stored meanwhile deadlocks that
    ``TRUNCATE`` ("the text is shown as text" sends a message and ends at its echo). A reply
    that never settles (a test that stops the bot) is left after ``SETTLE_S``."""
    yield
    in_flight = Message.objects.filter(status__in=[Message.Status.PENDING, Message.Status.STREAMING])
    deadline = time.monotonic() + SETTLE_S
    while in_flight.exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def chromium_missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401, PLC0415 - may be missing: the browser tests then skip
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture(scope="module")
def browser(live_server_url: str) -> Iterator[Any]:
    reason = chromium_missing()
    if reason:
        if os.environ.get("PARLEY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(f"BROWSER TESTS SKIPPED: {reason}")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - as in chromium_missing

    # Playwright's sync API keeps an event loop in this thread, which trips Django's
    # async-safety check on the test's own (synchronous) database work.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
