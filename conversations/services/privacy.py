"""Retention and data-subject requests: old conversations purged, one conversation exported
or erased on request; each is recorded in the audit log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations.models import AuditLog, Conversation
from conversations.payloads import message_payload, note_payload


def conversations_to_purge(*, older_than_days: int) -> QuerySet[Conversation]:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return Conversation.objects.filter(updated_at__lt=cutoff)


def conversations_purge(*, older_than_days: int, actor: str) -> int:
    with transaction.atomic():
        ids = list(conversations_to_purge(older_than_days=older_than_days).values_list("pk", flat=True)[:10000])
        Conversation.objects.filter(pk__in=ids).delete()
        if ids:
            AuditLog.objects.create(
                action=AuditLog.Action.PURGE,
                actor=actor,
                detail=f"{len(ids)} conversations idle over {older_than_days} days",
            )
    return len(ids)


def conversation_export(*, conversation: Conversation, actor: str) -> dict[str, Any]:
    """Everything stored about one conversation (a data-subject access request), audited."""
    AuditLog.objects.create(action=AuditLog.Action.EXPORT, actor=actor, conversation_id=conversation.pk)
    return {
        "conversation": {
            "id": str(conversation.pk),
            "status": conversation.status,
            "origin": conversation.origin,
            "created_at": conversation.created_at.isoformat(),
            "rating": conversation.rating,
            "rating_comment": conversation.rating_comment,
        },
        "messages": [dict(message_payload(m)) for m in conversation.messages.order_by("seq")],
        "notes": [dict(note_payload(n)) for n in conversation.notes.all()],
    }


def conversation_delete(*, conversation: Conversation, actor: str) -> None:
    """Erase a conversation and everything in it (a data-subject erasure request), audited."""
    with transaction.atomic():
        conversation_id = conversation.pk
        conversation.delete()
        AuditLog.objects.create(action=AuditLog.Action.DELETE, actor=actor, conversation_id=conversation_id)
