"""Read-side queries for the staff console and API (no writes here)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Case, IntegerField, Value, When

from conversations.models import Conversation, Message
from conversations.payloads import conversation_summary, message_payload, note_payload

INBOX_SIZE = 100


def inbox(status: str | None = None) -> list[dict[str, Any]]:
    """Open conversations, the ones that need a human first, then the most recent."""
    rows = Conversation.objects.select_related("agent").exclude(status=Conversation.Status.CLOSED)
    if status:
        rows = rows.filter(status=status)
    rows = rows.annotate(
        urgent=Case(
            When(status=Conversation.Status.NEEDS_HUMAN, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("urgent", "-updated_at")[:INBOX_SIZE]
    return [dict(conversation_summary(c)) for c in rows]


def get_conversation(conversation_id: str) -> Conversation:
    try:
        return Conversation.objects.select_related("agent").get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist):
        raise LookupError(conversation_id) from None


def conversation_detail(conversation_id: str) -> dict[str, Any]:
    conversation = get_conversation(conversation_id)
    return {
        "conversation": dict(conversation_summary(conversation)),
        "messages": [
            dict(message_payload(m)) | {"feedback": m.feedback} for m in conversation.messages.order_by("seq")
        ],
        "notes": [dict(note_payload(n)) for n in conversation.notes.select_related("author")],
    }


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
