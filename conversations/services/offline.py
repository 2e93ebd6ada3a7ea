"""Out of hours: a conversation that starts needing a person while the team is away
(``SUPPORT_HOURS``, conversations/hours.py) tells the customer when someone will be back and
offers to answer by email; the email the customer leaves is stored on the conversation and
shown in the staff inbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from conversations import hours
from conversations.identity import IdentityError, check_email
from conversations.models import Conversation, Message
from conversations.services.common import InvalidInput, publish_on_commit, seqs_allocate

# Modes of the system notices written here (Message.mode).
OFFLINE_MODE = "offline"
NOTICE_MODE = "notice"


def support_schedule() -> hours.Schedule | None:
    """The team's hours from the settings; ``None`` when it is always there."""
    return hours.schedule(settings.SUPPORT_HOURS, settings.SUPPORT_TIMEZONE)


def offline_notice_on_handoff(*, conversation_id: uuid.UUID) -> Message | None:
    """Tell the customer that nobody is there until the next opening, when that is now.

    Call inside the transaction that moved the conversation to ``needs_human``, once per such
    move; the notice (role ``system``, mode ``offline``) goes out after that transaction's
    other messages."""
    schedule = support_schedule()
    now = timezone.now()
    if schedule is None or schedule.is_open(now):
        return None
    seq, _ = seqs_allocate(conversation_id, 1)
    notice = Message.objects.create(
        conversation_id=conversation_id,
        seq=seq,
        role=Message.Role.SYSTEM,
        text=hours.offline_notice(schedule, now),
        mode=OFFLINE_MODE,
    )
    Conversation.objects.filter(pk=conversation_id).update(offline_notice_at=now)
    publish_on_commit(notice)
    return notice


def check_contact_email(value: object) -> str:
    try:
        email = check_email(value)
    except IdentityError as error:
        raise InvalidInput("invalid", error.detail) from None
    if not email:
        raise InvalidInput("invalid", "'email' must not be empty.")
    return email


def conversation_contact_set(*, conversation: Conversation, email: str) -> Message:
    """Store where the customer wants the answer (``check_contact_email`` checked it) and
    confirm it with a notice in the conversation; the staff inbox shows it."""
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(contact_email=email)
        seq, _ = seqs_allocate(conversation.id, 1)
        notice = Message.objects.create(
            conversation=conversation,
            seq=seq,
            role=Message.Role.SYSTEM,
            text=f"Thanks! We'll answer at {email}. You can keep writing here too.",
            mode=NOTICE_MODE,
        )
        publish_on_commit(notice)
    conversation.refresh_from_db()
    return notice
