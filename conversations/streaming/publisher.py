"""The process's publisher loop: sync code (services, Celery tasks) sends to the channel layer
through one event loop that lives in a daemon thread of its process.

Every send of every stream thus reuses that loop's Redis connections (``async_to_sync`` per
send would open a connection each time). ``run_coroutine`` waits for its send, which keeps a
stream's deltas in order. The outbox (``outbox_put``) is for sends nobody waits for (whole
messages, inbox updates): they go out in the order they were asked for, after any send this
process made before, and the caller (a customer waiting for ``ack``) goes on at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from channels.layers import get_channel_layer

T = TypeVar("T")
logger = logging.getLogger(__name__)

SEND_TIMEOUT_S = 10.0


class _LoopThread:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="parley-publisher", daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_publisher = _LoopThread()


class _Outbox:
    """Group sends that nobody waits for, made one after another on the publisher loop, in the
    order they were asked for; a failed send is logged (a socket catches up a reply whose
    event is lost; clients can also ``resume`` or poll)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def put(self, group: str, event: dict[str, Any]) -> None:
        loop = _publisher.loop()  # a new one in a forked child: the queue follows it
        with self._lock:
            if self._queue is None or self._loop is not loop:
                self._queue, self._loop = asyncio.Queue(), loop
                asyncio.run_coroutine_threadsafe(self._drain(self._queue), loop)
            queue = self._queue
        loop.call_soon_threadsafe(queue.put_nowait, (group, event))

    async def _drain(self, queue: asyncio.Queue[tuple[str, dict[str, Any]]]) -> None:
        while True:
            group, event = await queue.get()
            try:
                await asyncio.wait_for(_layer().group_send(group, event), SEND_TIMEOUT_S)
            except Exception:
                logger.warning("could not send %s to %s", event.get("type"), group, exc_info=True)


_outbox = _Outbox()


def _layer() -> Any:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    return layer


def run_coroutine(coro: Coroutine[Any, Any, T], timeout: float = SEND_TIMEOUT_S) -> T:
    """Run ``coro`` on the process's publisher loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coro, _publisher.loop()).result(timeout)


def group_send(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to ``group`` on the publisher loop and wait until it is sent."""
    run_coroutine(_layer().group_send(group, event))


def outbox_put(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to ``group`` through the outbox: returns at once (see the module's doc)."""
    _outbox.put(group, event)
