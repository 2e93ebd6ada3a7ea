"""The base of Parley's websocket consumers."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name  # type: ignore[attr-defined]
from channels.generic.websocket import AsyncWebsocketConsumer


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
