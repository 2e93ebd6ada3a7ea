"""The bot's replies: enqueued with the customer message that asks for them, claimed and
written by the generation task under a lease, superseded by a newer message or a takeover,
and swept up when their task was lost or their worker's lease lapsed."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from conversations import counters, dispatch, selectors, shown, streaming
from conversations.models import Conversation, Message
from conversations.services.common import conversation_flag_for_human, publish_on_commit
from conversations.services.offline import offline_notice_on_handoff

FAILED_REPLY_TEXT = (
    "Sorry, I couldn't answer that just now. A member of our team will take over this conversation and reply here."
)
# A reply whose task was lost this many times fails (the customer is told, a person takes over).
SWEEP_MAX_ATTEMPTS = 3


class ReplyMeta(TypedDict, total=False):
    mode: str
    model_name: str
    prompt_tokens: int
    completion_tokens: int
    queued_ms: int
    first_token_ms: int
    first_delta_ms: int
    generation_ms: int
    sources: list[dict[str, Any]]
    grounded: bool
    handoff: bool


def reply_pending_create(*, conversation: Conversation, seq: int, question: Message) -> Message:
    """Inside the caller's transaction: the bot's pending reply to ``question`` at ``seq``,
    its generation task started once the transaction commits."""
    reply = Message.objects.create(
        conversation=conversation,
        seq=seq,
        role=Message.Role.ASSISTANT,
        status=Message.Status.PENDING,
        reply_to=question,
    )
    reply_enqueue_on_commit(reply)
    return reply


def reply_enqueue_on_commit(reply: Message) -> None:
    """Start ``reply``'s generation task once the caller's transaction commits."""
    reply_id = str(reply.id)
    # robust: if the broker is down the reply stays pending and the sweep re-enqueues it.
    transaction.on_commit(lambda: dispatch.reply_generate(reply_id), robust=True)


def replies_supersede(conversation: Conversation) -> list[str]:
    """Drop replies not started yet; ask streaming ones to stop (they keep their text).
    Runs inside the caller's transaction; returns the ids asked to stop."""
    in_flight = list(
        Message.objects.filter(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            status__in=[Message.Status.PENDING, Message.Status.STREAMING],
        ).values_list("pk", "status")
    )
    pending = [pk for pk, status in in_flight if status == Message.Status.PENDING]
    if pending:
        # Only when there is one: a delete collects the rows that point at these first, which
        # costs several queries even for none.
        Message.objects.filter(pk__in=pending).delete()
    streaming_ids = [str(pk) for pk, status in in_flight if status == Message.Status.STREAMING]
    for message_id in streaming_ids:
        transaction.on_commit(lambda mid=message_id: streaming.request_stop(mid), robust=True)  # type: ignore[misc]
    return streaming_ids


def reply_stop(*, conversation: Conversation) -> list[str]:
    """The customer pressed stop: the reply in flight ends with the text it has."""
    with transaction.atomic():
        return replies_supersede(conversation)


# --- leases ---------------------------------------------------------------------------------------
class ReplyLeaseLost(Exception):
    """The worker no longer holds the reply: another took it over, or it could not renew."""


@dataclass
class ReplyLease:
    """A worker's hold on the reply it generates (see ``reply_claim``).

    ``shown`` is what the reply's customer may have been shown before this claim (empty for a
    fresh reply); the worker renews the lease (``reply_leases_renew``) and counts it lost a
    little before the database would let another worker take it, so two workers never stream
    one reply at once.
    """

    message_id: str
    owner: str
    shown: str = ""
    seconds: float = field(default_factory=lambda: float(settings.REPLY_LEASE_SECONDS))
    renewed_at: float = field(default_factory=time.monotonic)  # when the last renewal was sent
    lost: bool = False

    @property
    def held(self) -> bool:
        margin = min(1.5, self.seconds / 4)
        return not self.lost and time.monotonic() - self.renewed_at < self.seconds - margin

    recording: bool = True  # whether the record of what was shown is still whole

    def record(self, text: str) -> None:
        """Add ``text``, about to be shown, to the record of what the customer was shown
        (``conversations.shown``); a record Redis refused a piece of is dropped, since one
        with a hole would mislead."""
        if self.recording and not shown.record_append(self.message_id, text):
            self.recording = False
            shown.record_discard(self.message_id)

    def forward_to(self, publish: Callable[[str], None], *, record: bool = True) -> Callable[[str], None]:
        """A ``forward`` for the responder: a reply taken over goes on after ``shown``, and a
        piece that comes once the lease is lost raises ``ReplyLeaseLost``. Each piece is
        recorded before ``publish`` gets it; ``record=False`` where ``publish`` calls
        ``record`` itself before the text goes out (generation/replying.py records each
        coalesced delta: one Redis round trip a delta, not one a word)."""

        def send(text: str) -> None:
            if record:
                self.record(text)
            publish(text)

        continuation = shown.Continuation(self.shown, send)

        def forward(piece: str) -> None:
            if not self.held:
                raise ReplyLeaseLost(self.message_id)
            continuation(piece)

        return forward


_lease: ContextVar[ReplyLease | None] = ContextVar("reply_lease", default=None)


@contextlib.contextmanager
def reply_lease_bound(lease: ReplyLease) -> Iterator[ReplyLease]:
    """Within this block (one task's thread), writes to ``lease``'s reply apply only while
    its owner still holds it, and its final text starts with ``lease.shown``."""
    token = _lease.set(lease)
    try:
        yield lease
    finally:
        _lease.reset(token)


def _held_by_caller(rows: QuerySet[Message], message_id: str) -> QuerySet[Message]:
    lease = _lease.get()
    if lease is not None and lease.message_id == str(message_id):
        return rows.filter(lease_owner=lease.owner)
    return rows


def reply_leases_renew(leases: list[tuple[str, str]]) -> set[str]:
    """Extend the leases ``(message_id, owner)`` that are still held; returns their ids (one
    statement for all of a worker's replies, a second one only when some were lost)."""
    if not leases:
        return set()
    mine = Q()
    for message_id, owner in leases:
        mine |= Q(id=message_id, lease_owner=owner)
    rows = Message.objects.filter(mine, status=Message.Status.STREAMING)
    until = Now() + timedelta(seconds=settings.REPLY_LEASE_SECONDS)
    if rows.update(lease_expires_at=until) == len(leases):
        return {message_id for message_id, _ in leases}
    return {str(message_id) for message_id in rows.values_list("id", flat=True)}


# --- written by the generation task ---------------------------------------------------------------
def reply_claim(*, message_id: str, owner: str = "") -> Message | None:
    """Take a reply for generation under a lease held by ``owner``; ``None`` when it is done,
    held by a worker, or gone.

    A pending reply is taken at once; a streaming one only once its lease has lapsed (its
    worker was killed or lost its machine), and then its ``text`` is set to what its
    customer may have been shown (``conversations.shown``), which the new worker goes on after.
    """
    owner = owner or uuid.uuid4().hex
    now = timezone.now()
    claim: dict[str, Any] = {
        "status": Message.Status.STREAMING,
        "claimed_at": now,
        "lease_owner": owner,
        "lease_expires_at": Now() + timedelta(seconds=settings.REPLY_LEASE_SECONDS),
        "attempts": F("attempts") + 1,
    }
    replies = Message.objects.filter(id=message_id, role=Message.Role.ASSISTANT)
    if replies.filter(status=Message.Status.PENDING).update(**claim):
        counters.count("parley_generation_attempts")
    else:
        # Rows claimed before leases existed have none: they get the old, long timeout.
        legacy = Q(
            lease_expires_at__isnull=True, claimed_at__lt=now - timedelta(seconds=settings.GENERATION_TIMEOUT * 1.5)
        )
        lapsed = Q(lease_expires_at__lt=Now()) | legacy
        if not replies.filter(lapsed, status=Message.Status.STREAMING).update(**claim):
            return None
        counters.count("parley_generation_attempts")
        counters.count("parley_reply_takeovers")
    message = Message.objects.select_related("conversation", "reply_to").get(id=message_id)
    seen = shown.shown_text(message_id, message.text)
    if seen != message.text:
        Message.objects.filter(id=message_id, lease_owner=owner).update(text=seen)
        message.text = seen
    return message


def reply_progress(*, message_id: str, text: str) -> None:
    """Save the text streamed so far, so a client that reconnects mid-reply sees it."""
    rows = Message.objects.filter(id=message_id, status=Message.Status.STREAMING)
    _held_by_caller(rows, message_id).update(text=text, updated_at=timezone.now())


def reply_complete(*, message_id: str, text: str, meta: ReplyMeta) -> Message | None:
    """Store the final text; ``None`` if the reply is no longer streaming (e.g. cancelled) or,
    under a lease (``reply_lease_bound``), no longer held by the caller. The stored text
    starts with whatever the reply's customer was shown before the caller took it over.

    Every write of a reply's text moves its ``updated_at`` on: a socket's catch-up tells a
    final event that is lost from one that is merely on its way by how long ago it was stored.
    """
    lease = _lease.get()
    if lease is not None and lease.message_id == str(message_id):
        text = shown.continued(lease.shown, text)
    with transaction.atomic():
        rows = Message.objects.filter(id=message_id, status=Message.Status.STREAMING)
        updated = _held_by_caller(rows, message_id).update(
            text=text,
            status=Message.Status.COMPLETE,
            error="",
            lease_expires_at=None,
            updated_at=timezone.now(),
            **meta,
        )
        if not updated:
            return None
        transaction.on_commit(lambda: shown.record_discard(str(message_id)), robust=True)
        _count_ended(Message.Status.COMPLETE, meta)
        message = Message.objects.get(id=message_id)
        handed_off = bool(meta.get("handoff")) and conversation_flag_for_human(message.conversation_id)
        publish_on_commit(message)
        if handed_off:
            offline_notice_on_handoff(conversation_id=message.conversation_id)
    return message


def _count_ended(status: str, meta: ReplyMeta) -> None:
    counters.count("parley_replies", 1, status)
    counters.count("parley_generation_tokens", meta.get("completion_tokens") or 0)
    counters.count("parley_prompt_tokens", meta.get("prompt_tokens") or 0)
    if meta.get("handoff"):
        counters.count("parley_handoffs")
    for histogram, milliseconds in (
        ("parley_generation_time_to_first_token_seconds", meta.get("first_token_ms")),
        ("parley_first_delta_seconds", meta.get("first_delta_ms")),
        ("parley_reply_seconds", meta.get("generation_ms")),
    ):
        if milliseconds is not None:
            counters.observe(histogram, milliseconds / 1000)


def reply_release(*, message_id: str, error: str) -> None:
    """Put a reply back to ``pending`` so a retry of its task can claim it. Its text stays:
    the retry goes on after what the customer was shown."""
    rows = Message.objects.filter(id=message_id, status=Message.Status.STREAMING)
    _held_by_caller(rows, message_id).update(status=Message.Status.PENDING, lease_expires_at=None, error=error[:2000])


def reply_fail(*, message_id: str, error: str) -> Message | None:
    """Give up on a reply: tell the customer in plain words (after whatever they were shown
    of it) and flag a human."""
    rows = Message.objects.filter(id=message_id, status__in=[Message.Status.PENDING, Message.Status.STREAMING])
    rows = _held_by_caller(rows, message_id)
    stored = rows.values_list("text", flat=True).first()
    if stored is None:
        return None
    text = shown.continued(shown.shown_text(str(message_id), stored), FAILED_REPLY_TEXT)
    with transaction.atomic():
        updated = rows.update(
            status=Message.Status.FAILED,
            text=text,
            handoff=True,
            mode="failed",
            error=error[:2000],
            lease_expires_at=None,
            updated_at=timezone.now(),
        )
        if not updated:
            return None
        transaction.on_commit(lambda: shown.record_discard(str(message_id)), robust=True)
        _count_ended(Message.Status.FAILED, {"handoff": True})
        message = Message.objects.get(id=message_id)
        handed_off = conversation_flag_for_human(message.conversation_id)
        publish_on_commit(message)
        if handed_off:
            offline_notice_on_handoff(conversation_id=message.conversation_id)
    return message


# --- lost tasks ---------------------------------------------------------------------------------------
def reply_requeue(*, message_id: str) -> None:
    """Enqueue the task of a reply whose task was lost (broker down at enqueue, worker killed);
    its ``updated_at`` moves on, so the next sweep leaves it alone for a while."""
    Message.objects.filter(id=message_id).update(updated_at=timezone.now())
    dispatch.reply_generate(message_id)


def replies_sweep() -> int:
    """Re-enqueue the replies no task will finish (see ``selectors.replies_stuck``), or fail
    those lost ``SWEEP_MAX_ATTEMPTS`` times; returns how many were touched.

    A pending reply waits ``REPLY_REQUEUE_SECONDS`` for its task while tasks are queued, but
    only two sweeps when none is: workers take a task only when they have a thread free for
    it, so with an empty queue a reply still pending has lost its task (its worker died
    between taking it and claiming the reply)."""
    try:
        idle = dispatch.tasks_waiting() == 0
    except redis.RedisError:
        idle = False
    pending_after_s = 2 * settings.REPLY_SWEEP_SECONDS if idle else settings.REPLY_REQUEUE_SECONDS
    stuck = selectors.replies_stuck(pending_after_s=min(pending_after_s, settings.REPLY_REQUEUE_SECONDS))
    for message_id, attempts in stuck:
        if attempts >= SWEEP_MAX_ATTEMPTS:
            reply_fail(message_id=message_id, error="gave up after repeated lost tasks")
        else:
            reply_requeue(message_id=message_id)
    return len(stuck)
