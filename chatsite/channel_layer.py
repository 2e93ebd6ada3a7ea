"""The channel layer: channels-redis's, with a receive that a closing websocket cannot make
lose another websocket's event.

Every consumer of an ASGI process receives from one Redis key, the process's specific
channel. channels-redis 4.3 pops that key (``BZPOPMIN``) inside the ``receive`` of whichever
consumer holds its receive lock, and channels cancels a consumer's ``receive`` when its
websocket closes. A pop the server has already made is then dropped with the cancelled task
(redis-py reads the reply on a connection it closes; the backup copy is written only after
the reply is read), so an event meant for *another* consumer of the process vanishes without
a trace: channels_redis#151, #366; django/channels#1683. ``tests/conversations/
test_channel_layer.py`` reproduces it with the stock layer.

Here one task per process (the pump) pops the specific channel and files each event in a
per-channel box; ``receive`` only waits for its own box. Cancelling a ``receive`` leaves the
pop alone and the event in its box, for the next ``receive`` of that channel. The pump runs
while any receive waits, so an idle process holds no blocking pop, and takes whatever has
queued up in one round trip, so a busy process keeps up (the stock receive makes four round
trips per event, one event at a time). Events for a channel that nobody receives from any
more (its consumer is gone) are dropped after ``expiry`` seconds, as Redis drops events
nobody pops. Sends, groups and plain channels are channels-redis's own.
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from channels_redis.core import RedisChannelLayer as _StockRedisChannelLayer

# Events taken off the process's channel per round trip at most, after the first.
PUMP_BATCH = 100


class RedisChannelLayer(_StockRedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._boxes: dict[str, collections.deque[dict[str, Any]]] = {}
        self._boxed_at: dict[str, float] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = collections.defaultdict(list)
        self._pump: asyncio.Task[None] | None = None
        self._pump_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel: str) -> dict[str, Any]:
        if "!" not in channel:
            message: dict[str, Any] = await super().receive(channel)
            return message
        assert self.require_valid_channel_name(channel)
        real_channel = self.non_local_name(channel)
        assert real_channel.endswith(self.client_prefix + "!"), "Wrong client prefix"
        loop = asyncio.get_running_loop()
        while True:
            box = self._boxes.get(channel)
            if box:
                message = box.popleft()
                if not box:
                    self._forget_box(channel)
                return message
            pump = self._running_pump(loop, real_channel)
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters[channel].append(waiter)
            try:
                # A cancellation here takes nothing off a box: the event waits for the next call.
                await asyncio.wait({waiter, pump}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiters = self._waiters.get(channel, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._waiters.pop(channel, None)
                waiter.cancel()
            if pump.done() and not pump.cancelled() and pump.exception() is not None and not self._boxes.get(channel):
                raise pump.exception()  # type: ignore[misc]  # Redis away: the caller sees it, as with the stock layer

    def _running_pump(self, loop: asyncio.AbstractEventLoop, real_channel: str) -> asyncio.Task[None]:
        pump = self._pump
        if pump is not None and not pump.done():
            if self._pump_loop is loop:
                return pump
            if self._pump_loop is not None and not self._pump_loop.is_closed():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
            self._waiters.clear()  # futures of a closed loop: nobody awaits them any more
        self._pump = loop.create_task(self._run_pump(real_channel), name="parley-channel-layer-pump")
        # Receivers waiting when the pump fails raise its error; one that fails with nobody
        # waiting (pools closed at shutdown) has nobody to tell.
        self._pump.add_done_callback(lambda task: task.cancelled() or task.exception())
        self._pump_loop = loop
        return self._pump

    async def _run_pump(self, real_channel: str) -> None:
        """Pop the process's specific channel while anyone waits, filing each event in the box
        of the channel(s) it is for. No receiver can cancel a pop or a filing."""
        connection = self.connection(self.consistent_hash(real_channel))
        key = self.prefix + real_channel
        while self._waiters:
            first = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            if first is not None:
                # What queued up meanwhile comes in the same round trip, oldest first: a busy
                # process files many events per pop instead of making four round trips for
                # each (channels-redis's backup queue guards against a cancelled receive, and
                # nothing here is cancelled but the whole process's pump as it shuts down).
                rest = await connection.zpopmin(key, PUMP_BATCH)
                for content in [first[1], *(member for member, _ in rest)]:
                    self._file(self.deserialize(content), real_channel)
            self._drop_unclaimed()

    def _file(self, message: dict[str, Any], real_channel: str) -> None:
        targets = message.pop("__asgi_channel__", real_channel)
        for channel in targets if isinstance(targets, list) else [targets]:
            box = self._boxes.setdefault(channel, collections.deque(maxlen=self.get_capacity(channel)))
            box.append(message)
            self._boxed_at[channel] = time.monotonic()
            for waiter in self._waiters.get(channel, []):
                if not waiter.done():
                    waiter.set_result(None)

    def _drop_unclaimed(self) -> None:
        cutoff = time.monotonic() - self.expiry
        for channel in [c for c, at in self._boxed_at.items() if at < cutoff and c not in self._waiters]:
            self._forget_box(channel)

    def _forget_box(self, channel: str) -> None:
        self._boxes.pop(channel, None)
        self._boxed_at.pop(channel, None)
