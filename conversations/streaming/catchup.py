"""What one socket's client has of the replies it waits for, so that live events and catch-ups
together give it each reply's text exactly once.

A consumer tells its tracker about every reply it learns of (an ``ack``'s ``reply_id``, a
replayed reply, a customer message's ``reply_id``, a first delta) and passes each live event
through it. A reply that stays silent for ``silence_s`` (no delta, no final message) is *due*:
the consumer reads the stored reply and the tracker turns it into what the client lacks —
the final ``message``, or the text stored beyond what the client has, as a ``delta``. The
frames it hands out never repeat or take back text: a delta is trimmed to what is new, a
delta that would leave a hole is held back (and the reply checked at once), and a final
message goes out once per reply, live or caught up, whichever comes first.

A catch-up stands for a lost event, not a slow one: a final message (or, for a stream that
stalled, its text) is caught up only once it has been stored for ``silence_s`` without its
event arriving. Text that fills a hole left by a lost delta goes out at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from asgiref.sync import sync_to_async

from conversations.models import Message
from conversations.payloads import DeltaEvent, DeltaFrame, MessageFrame, MessagePayload, StoredReply
from conversations.streaming.counts import CatchUpKind, Socket, count_catch_up, count_late

logger = logging.getLogger(__name__)

FINAL_STATUSES = frozenset({Message.Status.COMPLETE, Message.Status.FAILED})
# Final replies remembered per socket, so a live event that comes after its catch-up is dropped.
REMEMBERED = 128

Verdict = Literal["forward", "duplicate", "late"]


@dataclass
class _Waiting:
    have: int  # characters of the reply's text the client has
    quiet_since: float  # the last sign of life: an event, or a look at the stored reply
    hole: bool = False  # a live delta came that starts past ``have``: one before it was lost


class ReplyTracker:
    def __init__(self, *, silence_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.silence_s = silence_s
        self._clock = clock
        self._waiting: dict[str, _Waiting] = {}
        # reply id -> whether a catch-up (rather than a live event) finished it
        self._finished: OrderedDict[str, bool] = OrderedDict()

    # --- what the client is told about --------------------------------------------------------
    def expect(self, reply_id: str, *, have: int = 0) -> None:
        """The client waits for ``reply_id`` and has its first ``have`` characters."""
        if reply_id in self._finished:
            return
        waiting = self._waiting.get(reply_id)
        if waiting is None:
            self._waiting[reply_id] = _Waiting(have=have, quiet_since=self._clock())
        else:
            waiting.have = max(waiting.have, have)

    def finished(self, reply_id: str) -> None:
        """The client has ``reply_id``'s final version (e.g. a ``resume`` replayed it)."""
        self._finish(reply_id, caught_up=False)

    # --- live events --------------------------------------------------------------------------
    def delta(self, message_id: str, text: str, offset: int) -> DeltaFrame | None:
        """The frame to forward for a live delta, trimmed to what the client lacks; ``None``
        when it brings nothing new, or when a delta before it was lost (the reply is then due
        at once: its stored text fills the hole)."""
        if message_id in self._finished:
            return None
        end = offset + len(text)
        waiting = self._waiting.get(message_id)
        if waiting is None:
            # First news of a reply (another socket asked, or this one joined late).
            self._waiting[message_id] = _Waiting(have=end, quiet_since=self._clock())
            return {"type": "delta", "message_id": message_id, "text": text, "offset": offset}
        if offset > waiting.have:
            waiting.hole = True
            waiting.quiet_since = float("-inf")
            return None
        waiting.quiet_since = self._clock()
        if end <= waiting.have:
            return None
        frame: DeltaFrame = {
            "type": "delta",
            "message_id": message_id,
            "text": text[waiting.have - offset :],
            "offset": waiting.have,
        }
        waiting.have = end
        return frame

    def message(self, message: MessagePayload) -> Verdict:
        """Whether to forward a live final message: ``duplicate`` when the client has it,
        ``late`` when a catch-up already gave it (the event came, but too late)."""
        if message["id"] in self._finished:
            return "late" if self._finished[message["id"]] else "duplicate"
        if message["status"] in FINAL_STATUSES:
            self._finish(message["id"], caught_up=False)
        return "forward"

    # --- catching up --------------------------------------------------------------------------
    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def next_due_in(self) -> float | None:
        """Seconds until the next reply falls silent (``None`` when none is awaited)."""
        if not self._waiting:
            return None
        quiet = min(w.quiet_since for w in self._waiting.values())
        return max(0.0, quiet + self.silence_s - self._clock())

    def due(self) -> list[str]:
        """The awaited replies that have been silent for ``silence_s``."""
        cutoff = self._clock() - self.silence_s
        return [reply_id for reply_id, w in self._waiting.items() if w.quiet_since <= cutoff]

    def catch_up(self, reply_id: str, stored: StoredReply | None) -> DeltaFrame | MessageFrame | None:
        """What the client lacks of ``reply_id``, given the stored reply (``None``: it is gone,
        superseded before it started)."""
        waiting = self._waiting.get(reply_id)
        if waiting is None:
            return None  # a live event finished it while the stored copy was read
        if stored is None:
            del self._waiting[reply_id]
            return None
        message, quiet_s = stored["message"], stored["quiet_s"]
        now = self._clock()
        lost = quiet_s >= self.silence_s  # stored that long ago, and still no event
        if message["status"] in FINAL_STATUSES:
            if not lost:  # its event may be on its way: look again once it is overdue
                waiting.quiet_since = now - quiet_s
                return None
            self._finish(reply_id, caught_up=True)
            return {"type": "message", "message": message, "catch_up": True}
        waiting.quiet_since = now
        text = message["text"]
        if len(text) <= waiting.have or not (lost or waiting.hole):
            return None
        frame: DeltaFrame = {
            "type": "delta",
            "message_id": reply_id,
            "text": text[waiting.have :],
            "offset": waiting.have,
            "catch_up": True,
        }
        waiting.have, waiting.hole = len(text), False
        return frame

    def _finish(self, reply_id: str, *, caught_up: bool) -> None:
        self._waiting.pop(reply_id, None)
        self._finished[reply_id] = caught_up
        self._finished.move_to_end(reply_id)
        while len(self._finished) > REMEMBERED:
            self._finished.popitem(last=False)


class ReplyWatch:
    """One socket's delivery: live events pass through its ``ReplyTracker``, and while the
    client waits for a reply a task wakes when one falls silent, reads the stored copies
    (``read``) and sends what the client lacks.

    Every frame of the socket goes out through ``send`` (under one lock), so a catch-up and a
    live event of the same reply never cross: each is decided on what was sent before it.
    """

    def __init__(
        self,
        *,
        socket: Socket,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        read: Callable[[list[str]], Awaitable[dict[str, StoredReply]]],
        silence_s: float,
        message_fields: dict[str, Any] | None = None,
    ) -> None:
        """``message_fields``: what this socket's ``message`` frames carry besides the message."""
        self.tracker = ReplyTracker(silence_s=silence_s)
        self._message_fields = message_fields or {}
        self._socket: Socket = socket
        self._send = send
        self._read = read
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._lock:
            await self._send(frame)

    def expect(self, reply_id: str, *, have: int = 0) -> None:
        self.tracker.expect(reply_id, have=have)
        self._watch()

    def finished(self, reply_id: str) -> None:
        self.tracker.finished(reply_id)

    async def delta(self, event: DeltaEvent) -> None:
        async with self._lock:
            frame = self.tracker.delta(event["message_id"], event["text"], event["offset"])
            if frame is not None:
                await self._send(dict(frame))
        self._watch()

    async def message(self, frame: dict[str, Any], message: MessagePayload) -> None:
        """Forward ``frame``, which carries the live final ``message``, unless the client has it."""
        async with self._lock:
            verdict = self.tracker.message(message)
            if verdict == "forward":
                await self._send(frame)
        if verdict == "late":
            logger.info("reply %s: its final message came after its catch-up (%s socket)", message["id"], self._socket)
            await _count(count_late, socket=self._socket)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _watch(self) -> None:
        if not self.tracker.waiting:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        else:
            self._wake.set()

    async def _run(self) -> None:
        try:
            while self.tracker.waiting:
                wait = self.tracker.next_due_in()
                if wait:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), wait)
                    continue
                await self._catch_up(self.tracker.due())
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket is gone, or the database is: the client can still resume
            logger.warning("catch-up stopped on a %s socket", self._socket, exc_info=True)

    async def _catch_up(self, due: list[str]) -> None:
        stored = await self._read(due)
        sent: list[tuple[str, CatchUpKind]] = []
        async with self._lock:
            for reply_id in due:
                frame = self.tracker.catch_up(reply_id, stored.get(reply_id))
                if frame is not None:
                    await self._send({**frame, **self._message_fields} if frame["type"] == "message" else dict(frame))
                    sent.append((reply_id, "message" if frame["type"] == "message" else "text"))
        for reply_id, kind in sent:
            # Said out loud: a catch-up means a live event was lost or late.
            logger.info("reply %s caught up on a %s socket (%s)", reply_id, self._socket, kind)
            await _count(count_catch_up, socket=self._socket, kind=kind)


async def _count(counter: Callable[..., None], **labels: str) -> None:
    try:
        await sync_to_async(counter, thread_sensitive=False)(**labels)
    except Exception:  # a count lost with Redis is not worth failing a delivery for
        logger.warning("could not count a delivery event", exc_info=True)


class StoredReplies:
    """The catch-up reads of every socket of a process, gathered into one ``fetch`` (one
    database query) per ``window_s``: a busy process makes a few reads a second, not one per
    waiting socket, and leaves its database thread to the customers' messages."""

    def __init__(
        self, fetch: Callable[[list[str]], Awaitable[dict[str, StoredReply]]], *, window_s: float = 0.05
    ) -> None:
        self._fetch = fetch
        self.window_s = window_s
        self._pending: list[tuple[list[str], asyncio.Future[dict[str, StoredReply]]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def read(self, conversation_id: str, reply_ids: list[str]) -> dict[str, StoredReply]:
        """The stored copies of ``reply_ids`` that belong to ``conversation_id``."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): what the old one gathered is moot
            self._pending, self._loop = [], loop
        future: asyncio.Future[dict[str, StoredReply]] = loop.create_future()
        self._pending.append((reply_ids, future))
        if len(self._pending) == 1:
            loop.call_later(self.window_s, lambda: asyncio.ensure_future(self._flush()))
        found = await future
        return {i: found[i] for i in reply_ids if i in found and found[i]["conversation_id"] == conversation_id}

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        try:
            found = await self._fetch(sorted({i for ids, _ in batch for i in ids}))
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():  # its socket may have closed meanwhile
                future.set_result(found)
