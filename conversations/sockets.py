"""The base of Parley's websocket consumers, and the thread their catch-up reads run on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from channels.consumer import get_handler_name  # type: ignore[attr-defined]
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import close_old_connections

T = TypeVar("T")


class WebsocketConsumer(AsyncWebsocketConsumer):
    """``AsyncWebsocketConsumer`` without channels' hop through the process's sync thread before
    every handler.

    Channels 4 runs ``close_old_connections`` in the one thread that all of the process's
    database work shares, before each frame and each channel-layer event a consumer handles.
    Under load every delta and every final message then waits behind the whole process's
    queries: seconds, with a few hundred sockets (docs/benchmarks.md, "Every reply reaches its
    customer"). Parley's consumers reach the database only through ``database_sync_to_async``,
    which closes stale connections itself around each call, so the hop buys nothing here.
    """

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


# Catch-up reads run on a thread of their own: the thread that all of the process's other
# database work shares is the queue that delays events under load, and a catch-up must not
# wait behind it. One thread, so a busy process holds one more database connection at most.
_catch_up_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-catch-up")


def _with_fresh_connections(read: Callable[..., T], kwargs: dict[str, Any]) -> T:
    close_old_connections()
    try:
        return read(**kwargs)
    finally:
        close_old_connections()


async def run_catch_up_read(read: Callable[..., T], **kwargs: Any) -> T:
    """``read(**kwargs)`` (a selector) on the catch-up thread, closing stale connections
    around it as ``database_sync_to_async`` does."""
    return await asyncio.get_running_loop().run_in_executor(_catch_up_thread, _with_fresh_connections, read, kwargs)
