"""Streaming: everything that reaches a client through the channel layer goes out from here.

- ``events``: group names, event types, and the functions that publish them;
- ``publisher``: the process's publisher loop and its outbox, which carry those sends;
- ``coalescing``: streamed pieces gathered into deltas;
- ``stops``: the flags that ask a reply in flight to stop;
- ``catchup``: on the receiving side, what each socket has of the replies it waits for, and
  the catch-up that sends it what a lost event did not bring (``counts`` keeps the tally).

Callers use this package's names (``streaming.publish_delta(...)``), not its modules.
"""

from __future__ import annotations

from conversations.streaming.catchup import FINAL_STATUSES, ReplyTracker, ReplyWatch, StoredReplies
from conversations.streaming.coalescing import DeltaCoalescer
from conversations.streaming.counts import DeliveryCounts, delivery_counts
from conversations.streaming.events import (
    EVENT_DELTA,
    EVENT_INBOX,
    EVENT_MESSAGE,
    EVENT_NOTE,
    EVENT_TYPING,
    STAFF_INBOX,
    group_name,
    publish_delta,
    publish_inbox_soon,
    publish_message_soon,
    publish_note,
    publish_staff,
    publish_typing,
    staff_group_name,
)
from conversations.streaming.publisher import SEND_TIMEOUT_S, run_coroutine
from conversations.streaming.stops import STOP_TTL_S, request_stop, stop_requested

__all__ = [
    "EVENT_DELTA",
    "EVENT_INBOX",
    "EVENT_MESSAGE",
    "EVENT_NOTE",
    "EVENT_TYPING",
    "FINAL_STATUSES",
    "SEND_TIMEOUT_S",
    "STAFF_INBOX",
    "STOP_TTL_S",
    "DeliveryCounts",
    "DeltaCoalescer",
    "ReplyTracker",
    "ReplyWatch",
    "StoredReplies",
    "delivery_counts",
    "group_name",
    "publish_delta",
    "publish_inbox_soon",
    "publish_message_soon",
    "publish_note",
    "publish_staff",
    "publish_typing",
    "request_stop",
    "run_coroutine",
    "staff_group_name",
    "stop_requested",
]
