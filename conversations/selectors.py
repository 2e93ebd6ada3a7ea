"""Read-side queries for the staff console and API (no writes here)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Now
from django.utils import timezone

from conversations.gaps import NOT_FOUND_OPENING, Question
from conversations.models import Conversation, Message, SavedReply
from conversations.payloads import (
    ConversationDetail,
    ConversationSummary,
    SavedReplyPayload,
    StoredReply,
    conversation_summary,
    message_payload,
    note_payload,
    saved_reply_payload,
    summary_fields,
)

INBOX_SIZE = 100
SAVED_REPLIES_MAX = 500


ASSIGNED_FILTERS = ("all", "mine", "unassigned")


def inbox(status: str | None = None, *, assigned: str = "all", user: Any = None) -> list[ConversationSummary]:
    """Open conversations, the ones that need a human first (the longest waiting first), then
    the most recent. ``assigned``: ``mine`` (``user`` is the assignee), ``unassigned`` (nobody
    has taken it) or ``all``."""
    rows = Conversation.objects.select_related("agent", "customer").exclude(status=Conversation.Status.CLOSED)
    if status:
        rows = rows.filter(status=status)
    if assigned == "mine":
        rows = rows.filter(agent=user) if user is not None and user.pk is not None else rows.none()
    elif assigned == "unassigned":
        rows = rows.filter(agent__isnull=True)
    rows = (
        rows.annotate(
            urgent=Case(
                When(status=Conversation.Status.NEEDS_HUMAN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .annotate(**summary_fields())
        .order_by("urgent", F("needs_human_since").asc(nulls_last=True), "-updated_at")[:INBOX_SIZE]
    )
    return [conversation_summary(c) for c in rows]


def saved_replies(query: str = "") -> list[SavedReplyPayload]:
    """Saved replies whose title or text contains ``query`` (all of them without one)."""
    rows = SavedReply.objects.all()
    query = query.replace("\x00", "").strip()  # as stored texts are: PostgreSQL refuses NULs
    if query:
        rows = rows.filter(Q(title__icontains=query) | Q(text__icontains=query))
    return [saved_reply_payload(r) for r in rows[:SAVED_REPLIES_MAX]]


def get_conversation(conversation_id: str) -> Conversation:
    try:
        return Conversation.objects.select_related("agent", "customer").get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist):
        raise LookupError(conversation_id) from None


def conversation_detail(conversation_id: str) -> ConversationDetail:
    conversation = get_conversation(conversation_id)
    return {
        "conversation": conversation_summary(conversation),
        "messages": [
            {**message_payload(m), "feedback": m.feedback}
            for m in conversation.messages.select_related("author").order_by("seq")
        ],
        "notes": [note_payload(n) for n in conversation.notes.select_related("author")],
    }


def conversation_turns(conversation_id: uuid.UUID | str, *, before_seq: int | None = None) -> list[tuple[str, str]]:
    """The finished turns of a conversation as ``(role, text)`` in seq order (before
    ``before_seq`` when given): complete messages with text, system notices left out. Callers
    redact the text before a model sees it."""
    rows = Message.objects.filter(conversation_id=conversation_id, status=Message.Status.COMPLETE).exclude(
        role=Message.Role.SYSTEM
    )
    if before_seq is not None:
        rows = rows.filter(seq__lt=before_seq)
    return [(role, text) for role, text in rows.order_by("seq").values_list("role", "text") if text]


def pending_reply_question(message_id: str) -> str:
    """The customer's text that the pending reply ``message_id`` answers ("" when the reply is
    not pending, or answers no customer message). Read before the reply is claimed, so that
    the worker can start on the question while it claims."""
    rows = Message.objects.filter(
        replies__id=message_id,
        replies__status=Message.Status.PENDING,
        role=Message.Role.CUSTOMER,
    ).values_list("text", flat=True)[:1]
    return next(iter(rows), "")


def replies_stuck(*, pending_after_s: float, limit: int = 200) -> list[tuple[str, int]]:
    """Replies that no task will finish, as ``(id, attempts)``: streaming ones whose worker's
    lease lapsed (killed, machine gone), and pending ones untouched for ``pending_after_s``
    (their task was lost: broker down at enqueue, or taken by a worker that died before it
    claimed the reply). A reply re-enqueued (its ``updated_at`` moves on) is left alone for two
    sweeps, while its task waits for a worker."""
    now = timezone.now()
    pending_cutoff = now - timedelta(seconds=pending_after_s)
    requeued_cutoff = now - timedelta(seconds=2 * settings.REPLY_SWEEP_SECONDS)
    # Rows claimed before leases existed have none: they get the old, long timeout.
    legacy_cutoff = now - timedelta(seconds=settings.GENERATION_TIMEOUT * 1.5)
    lapsed = Q(status=Message.Status.STREAMING, lease_expires_at__lt=Now()) & (
        Q(updated_at__lt=F("lease_expires_at")) | Q(updated_at__lt=requeued_cutoff)
    )
    rows = (
        Message.objects.filter(role=Message.Role.ASSISTANT)
        .filter(
            Q(status=Message.Status.PENDING, updated_at__lt=pending_cutoff)
            | lapsed
            | Q(status=Message.Status.STREAMING, lease_expires_at__isnull=True, claimed_at__lt=legacy_cutoff)
        )
        .order_by()
        .values_list("id", "attempts")[:limit]
    )
    return [(str(message_id), attempts) for message_id, attempts in rows]


def approved_answers(*, limit: int = 5000, turns: int = 6) -> list[tuple[list[tuple[str, str]], str]]:
    """Answers staff approved for training, oldest first, each with up to ``turns`` finished
    turns before it as ``(role, text)``, the last of them the customer's question. Callers
    redact the text before a model learns from it."""
    found = []
    approved = Message.objects.filter(approved_for_training=True, status=Message.Status.COMPLETE).order_by("created_at")
    for answer in approved[:limit]:
        before = conversation_turns(answer.conversation_id, before_seq=answer.seq)[-turns:]
        if before and before[-1][0] == Message.Role.CUSTOMER:
            found.append((before, answer.text))
    return found


def replies_stored(*, reply_ids: list[str]) -> dict[str, StoredReply]:
    """The stored copies of the replies sockets wait for, by id; a reply that is gone
    (superseded before it started) is left out. One query, whatever the number of ids."""
    ids = []
    for reply_id in reply_ids:
        try:
            ids.append(uuid.UUID(reply_id))
        except ValueError:
            continue
    now = timezone.now()
    rows = Message.objects.filter(role=Message.Role.ASSISTANT, id__in=ids)
    return {
        str(m.id): {
            "conversation_id": str(m.conversation_id),
            "message": message_payload(m),
            "quiet_s": max(0.0, (now - m.updated_at).total_seconds()),
        }
        for m in rows
    }


def gap_questions(*, since: datetime, limit: int = 1000) -> list[Question]:
    """The customer questions the bot handed over because the help centre had nothing on them
    (its "I couldn't find …" handoff, conversations/gaps.py), asked since ``since``, the most
    recent ``limit``, oldest first. Handoffs a customer asked for, or about one order, are not
    gaps in the help centre and are left out."""
    replies = (
        Message.objects.filter(
            role=Message.Role.ASSISTANT,
            handoff=True,
            mode="handoff",
            status=Message.Status.COMPLETE,
            text__startswith=NOT_FOUND_OPENING,
            reply_to__isnull=False,
            created_at__gte=since,
        )
        .select_related("reply_to")
        .order_by("-created_at")[:limit]
    )
    found = [
        Question(
            text=reply.reply_to.text,
            conversation_id=str(reply.conversation_id),
            asked_at=reply.reply_to.created_at,
            reply=reply.text,
        )
        for reply in replies
        if reply.reply_to is not None and reply.reply_to.text.strip()
    ]
    return found[::-1]


def pickup_seconds(*, since: datetime) -> list[float]:
    """Times to pickup, in seconds, of the conversations a person picked up after ``since``:
    from the bot handing over to the first takeover or agent reply."""
    rows = Conversation.objects.filter(picked_up_at__gte=since, needs_human_since__isnull=False).values_list(
        "needs_human_since", "picked_up_at"
    )
    return [max(0.0, (picked - handed).total_seconds()) for handed, picked in rows if handed and picked]


def waiting_for_human() -> tuple[int, datetime | None]:
    """How many conversations wait for a person now, and since when the longest has."""
    rows = Conversation.objects.filter(status=Conversation.Status.NEEDS_HUMAN)
    oldest = rows.order_by(F("needs_human_since").asc(nulls_last=True)).values_list("needs_human_since", flat=True)
    return rows.count(), next(iter(oldest[:1]), None)


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` (nearest rank), ``None`` when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
