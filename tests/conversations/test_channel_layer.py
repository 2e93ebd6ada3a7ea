"""The channel layer's receive on real Redis: a cancelled receive (a websocket closing) never
takes another consumer's event with it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import redis
from channels_redis.core import RedisChannelLayer as StockRedisChannelLayer
from django.conf import settings

from chatsite.channel_layer import RedisChannelLayer
from tests.waiting import wait_until

pytestmark = pytest.mark.asyncio


def layer(cls: type[Any], **config: Any) -> Any:
    return cls(hosts=[settings.REDIS_URL], prefix=f"{settings.REDIS_KEY_PREFIX}-layer-{uuid.uuid4().hex[:6]}", **config)


async def popped_for_one_cancelled_receive(cls: type[Any]) -> bool:
    """Two consumers of one process wait; the event for ``b`` is popped by the receive of
    ``a``, which is cancelled (its websocket closes) before it runs again. Does ``b`` get it?"""
    channels = layer(cls)
    a, b = await channels.new_channel(), await channels.new_channel()
    receive_a = asyncio.ensure_future(channels.receive(a))
    await asyncio.sleep(0.05)  # a's receive pops the process's channel (BZPOPMIN) ...
    receive_b = asyncio.ensure_future(channels.receive(b))
    await asyncio.sleep(0.05)  # ... and b's waits for it
    key = channels.prefix + channels.non_local_name(b)
    event = {"type": "conversation.delta", "__asgi_channel__": b}
    sync = redis.Redis.from_url(settings.REDIS_URL)
    # Sent without yielding to the loop, so the pop's reply is still unread when a is cancelled.
    sync.zadd(key, {channels.serialize(event): time.time()})
    wait_until(lambda: sync.zcard(key) == 0, 5, "the server to pop the event", interval=0.001)
    receive_a.cancel()
    try:
        got = await asyncio.wait_for(receive_b, 7)
    except TimeoutError:
        got = None
    finally:
        await channels.flush()
    return got == {"type": "conversation.delta"}


async def test_the_stock_layer_drops_an_event_popped_for_a_cancelled_receive() -> None:
    # channels_redis#151/#366, django/channels#1683: why Parley has its own receive. When
    # this fails, channels-redis has fixed it and chatsite/channel_layer.py can go.
    assert not await popped_for_one_cancelled_receive(StockRedisChannelLayer)


async def test_an_event_popped_for_a_cancelled_receive_reaches_its_channel() -> None:
    assert await popped_for_one_cancelled_receive(RedisChannelLayer)


async def test_a_cancelled_receive_leaves_its_own_event_for_the_next_receive() -> None:
    channels = layer(RedisChannelLayer)
    a = await channels.new_channel()
    receive = asyncio.ensure_future(channels.receive(a))
    await asyncio.sleep(0.05)
    receive.cancel()
    await channels.send(a, {"type": "x", "n": 1})
    await channels.send(a, {"type": "x", "n": 2})
    assert await asyncio.wait_for(channels.receive(a), 5) == {"type": "x", "n": 1}
    assert await asyncio.wait_for(channels.receive(a), 5) == {"type": "x", "n": 2}
    await channels.flush()


async def test_group_events_reach_every_consumer_of_the_process_in_order() -> None:
    channels = layer(RedisChannelLayer)
    members = [await channels.new_channel() for _ in range(3)]
    for channel in members:
        await channels.group_add("conversation.g", channel)
    for n in range(5):
        await channels.group_send("conversation.g", {"type": "x", "n": n})
    for channel in members:
        got = [await asyncio.wait_for(channels.receive(channel), 5) for _ in range(5)]
        assert [m["n"] for m in got] == list(range(5))
    await channels.flush()


async def test_events_nobody_receives_any_more_are_dropped_after_the_expiry() -> None:
    channels = layer(RedisChannelLayer, expiry=1)
    live, gone = await channels.new_channel(), await channels.new_channel()
    await channels.send(gone, {"type": "x"})  # its consumer has left
    await channels.send(live, {"type": "x"})
    assert await asyncio.wait_for(channels.receive(live), 5) == {"type": "x"}
    assert gone in channels._boxes
    await asyncio.sleep(1.1)
    await channels.send(live, {"type": "y"})
    assert await asyncio.wait_for(channels.receive(live), 5) == {"type": "y"}
    assert gone not in channels._boxes
    await channels.flush()


async def test_a_group_send_reaches_each_member_once_skips_a_full_one_and_drops_expired_members() -> None:
    """Parley's group send (two round trips) against what channels-redis's does: every member,
    a consumer of another process and a plain channel among them, gets the event once; a
    channel at capacity is skipped, the others still get it; a member past the group expiry
    is dropped from the group; events older than the expiry are dropped from a channel."""
    channels = layer(RedisChannelLayer, capacity=2, group_expiry=60, expiry=30)
    other = layer(RedisChannelLayer, capacity=2)
    other.prefix = channels.prefix  # another process of the same deployment
    mine, theirs, plain, full = (
        await channels.new_channel(),
        await other.new_channel(),
        "conversation.plain",
        "conversation.full",
    )
    for channel in (mine, theirs, plain, full):
        await channels.group_add("conversation.g", channel)
    sync = redis.Redis.from_url(settings.REDIS_URL)
    full_key, plain_key = channels.prefix + full, channels.prefix + plain
    for n in range(2):
        await channels.send(full, {"type": "old", "n": n})
    stale = channels.serialize({"type": "stale", "__asgi_channel__": [plain]})
    sync.zadd(plain_key, {stale: time.time() - 31})  # past the expiry: dropped on the next send
    left = "conversation.left"
    sync.zadd(channels._group_key("conversation.g"), {left: time.time() - 61})

    await channels.group_send("conversation.g", {"type": "x", "n": 1})
    assert await asyncio.wait_for(channels.receive(mine), 5) == {"type": "x", "n": 1}
    assert await asyncio.wait_for(other.receive(theirs), 5) == {"type": "x", "n": 1}
    assert await asyncio.wait_for(channels.receive(plain), 5) == {"type": "x", "n": 1}
    assert sync.zcard(plain_key) == 0  # the stale event went, and the new one was taken once
    queued: list[bytes] = sync.zrange(full_key, 0, -1)  # type: ignore[assignment]
    assert [channels.deserialize(m)["type"] for m in queued] == ["old", "old"]
    grouped: list[bytes] = sync.zrange(channels._group_key("conversation.g"), 0, -1)  # type: ignore[assignment]
    members = {m.decode() for m in grouped}
    assert members == {mine, theirs, plain, full}
    await channels.flush()
    await other.flush()
