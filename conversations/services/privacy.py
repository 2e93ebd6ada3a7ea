"""Retention and data-subject requests: old conversations purged, conversations exported or
erased on request (one through the staff API, several through the admin); each is recorded in
the audit log.

A signed-in customer's name and email (``Customer``) and the contact email a customer left
are personal data too: an export carries them, and a customer row goes with the last of its
conversations, whether that is erased or purged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations import counters
from conversations.models import AuditLog, Conversation, Customer
from conversations.payloads import ConversationExport, customer_payload, display_name, message_payload, note_payload
from conversations.redaction import redact


def conversations_to_purge(*, older_than_days: int) -> QuerySet[Conversation]:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return Conversation.objects.filter(updated_at__lt=cutoff)


PURGE_BATCH = 1000


def conversations_purge(*, older_than_days: int, actor: str) -> int:
    """Delete every conversation idle over ``older_than_days``, in batches of ``PURGE_BATCH``
    (one transaction and one audit entry each, so a large backlog never holds a long lock);
    returns how many were deleted."""
    total = 0
    while True:
        with transaction.atomic():
            # Rows another purge holds are skipped, not purged and audited twice: beat's purges
            # may overlap when one takes longer than RETENTION_PURGE_SECONDS (PostgreSQL; SQLite
            # runs one writer at a time, and the count below is what was really deleted).
            ids = list(
                conversations_to_purge(older_than_days=older_than_days)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:PURGE_BATCH]
            )
            if not ids:
                # Customers no conversation names (their last one gone some other way).
                cutoff = timezone.now() - timedelta(days=older_than_days)
                Customer.objects.filter(conversations=None, updated_at__lt=cutoff).delete()
                return total
            deleted = _customers_orphaned_delete(Conversation.objects.filter(pk__in=ids))
            if not deleted:
                continue
            AuditLog.objects.create(
                action=AuditLog.Action.PURGE,
                actor=actor,
                detail=f"{deleted} conversation{'s' if deleted != 1 else ''} idle over {older_than_days} days",
            )
            counters.count("parley_conversations_purged", deleted)
        total += deleted


def conversations_export(*, conversations: QuerySet[Conversation], actor: str, via: str) -> list[dict[str, Any]]:
    """Selected conversations with their messages, personal data redacted (an admin's bulk
    export); each conversation is recorded in the audit log, ``via`` saying how."""
    rows = [
        {
            "conversation": str(c.id),
            "status": c.status,
            "rating": c.rating,
            "created_at": c.created_at.isoformat(),
            "messages": [
                {
                    "seq": m.seq,
                    "role": m.role,
                    "status": m.status,
                    "text": redact(m.text),
                    "created_at": m.created_at.isoformat(),
                    "sources": [s.get("title") for s in m.sources],
                    "grounded": m.grounded,
                    "handoff": m.handoff,
                    "feedback": m.feedback,
                    "author": display_name(m.author) if m.role == m.Role.AGENT and m.author else "",
                }
                for m in c.messages.select_related("author").order_by("seq")
            ],
        }
        for c in conversations
    ]
    detail = f"{via} of {len(rows)} conversation{'s' if len(rows) != 1 else ''}, personal data redacted"
    AuditLog.objects.bulk_create(
        AuditLog(action=AuditLog.Action.EXPORT, actor=actor, conversation_id=c.pk, detail=detail) for c in conversations
    )
    counters.count("parley_conversations_exported", len(rows))
    return rows


def conversation_export(*, conversation: Conversation, actor: str) -> ConversationExport:
    """Everything stored about one conversation (a data-subject access request), audited."""
    AuditLog.objects.create(action=AuditLog.Action.EXPORT, actor=actor, conversation_id=conversation.pk)
    counters.count("parley_conversations_exported")
    return {
        "conversation": {
            "id": str(conversation.pk),
            "status": conversation.status,
            "origin": conversation.origin,
            "created_at": conversation.created_at.isoformat(),
            "rating": conversation.rating,
            "rating_comment": conversation.rating_comment,
            "contact_email": conversation.contact_email,
            "customer": customer_payload(conversation.customer) if conversation.customer else None,
        },
        "messages": [message_payload(m) for m in conversation.messages.order_by("seq")],
        "notes": [note_payload(n) for n in conversation.notes.all()],
    }


def conversation_delete(*, conversation: Conversation, actor: str, via: str = "") -> None:
    """Erase a conversation and everything in it (a data-subject erasure request), audited."""
    with transaction.atomic():
        conversation_id = conversation.pk
        _customers_orphaned_delete(Conversation.objects.filter(pk=conversation_id))
        AuditLog.objects.create(action=AuditLog.Action.DELETE, actor=actor, conversation_id=conversation_id, detail=via)
        counters.count("parley_conversations_erased")


def conversations_delete(*, conversations: QuerySet[Conversation], actor: str, via: str) -> int:
    """Erase the selected conversations (an admin's bulk delete), each one audited."""
    with transaction.atomic():
        ids = list(conversations.values_list("pk", flat=True))
        _customers_orphaned_delete(Conversation.objects.filter(pk__in=ids))
        AuditLog.objects.bulk_create(
            AuditLog(action=AuditLog.Action.DELETE, actor=actor, conversation_id=pk, detail=via) for pk in ids
        )
        counters.count("parley_conversations_erased", len(ids))
    return len(ids)


def _customers_orphaned_delete(conversations: QuerySet[Conversation]) -> int:
    """Delete ``conversations``, and the customers left with no conversation by it (their
    name and email serve nothing once their conversations are gone). Inside the caller's
    transaction; returns how many conversations were deleted."""
    customer_ids = set(conversations.exclude(customer=None).values_list("customer_id", flat=True))
    _, by_model = conversations.delete()
    if customer_ids:
        Customer.objects.filter(pk__in=customer_ids, conversations=None).delete()
    return by_model.get(Conversation._meta.label, 0)
