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
nobody pops. Plain sends, group membership and plain channels are channels-redis's own.

A group send (every streamed delta is one) makes two round trips where channels-redis's makes
four: the group's expired members are dropped and the rest read in one pipeline, then one
script per Redis host drops each member channel's expired events and adds the event where the
channel has room, sent by its hash once Redis has it (``bench/streaming.py``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from channels_redis.core import RedisChannelLayer as _StockRedisChannelLayer

logger = logging.getLogger(__name__)

# Events taken off the process's channel per round trip at most, after the first.
PUMP_BATCH = 100

# KEYS: the member channels' keys; ARGV: one event per key, then each key's capacity, then the
# time now and the expiry in seconds. Returns how many channels were full.
_GROUP_SEND = """
local n = #KEYS
local now = tonumber(ARGV[2 * n + 1])
local expiry = tonumber(ARGV[2 * n + 2])
local full = 0
for i = 1, n do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(now) - expiry)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], now, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        full = full + 1
    end
end
return full
"""


class RedisChannelLayer(_StockRedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._boxes: dict[str, collections.deque[dict[str, Any]]] = {}
        self._boxed_at: dict[str, float] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = collections.defaultdict(list)
        self._pump: asyncio.Task[None] | None = None
        self._pump_loop: asyncio.AbstractEventLoop | None = None
        self._group_send_script: Any = None  # registered with the first host it runs on

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        pipe = connection.pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        pipe.zrange(key, 0, -1)
        _, members = await pipe.execute()
        channels = [member.decode("utf8") for member in members]
        if not channels:
            return
        by_host, events, capacities = self._map_channel_keys_to_connection(channels, message)
        for index, keys in by_host.items():
            host = self.connection(index)
            if self._group_send_script is None:
                self._group_send_script = host.register_script(_GROUP_SEND)
            args = [events[k] for k in keys] + [capacities[k] for k in keys] + [time.time(), int(self.expiry)]
            full = await self._group_send_script(keys=keys, args=args, client=host)
            if full:
                logger.info("%s of %s channels over capacity in group %s", full, len(channels), group)

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
