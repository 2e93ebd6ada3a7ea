"""What support staff do to a conversation: take it over and hand it back (the customer reads
a notice of each), reply as an agent, show that they are typing, leave internal notes, and
approve answers as training material."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations import streaming
from conversations.models import Conversation, Message, Note
from conversations.payloads import display_name
from conversations.services.common import (
    InvalidInput,
    conversation_pickup_record,
    inbox_on_commit,
    notice_create,
    publish_on_commit,
    seqs_allocate,
)
from conversations.services.replies import replies_supersede, reply_pending_create

LEFT_NOTICE = "{name} left the conversation. You're chatting with the automated assistant again."
JOINED_NOTICE = "{name} joined the conversation."


def conversation_takeover(*, conversation: Conversation, user: Any) -> Conversation:
    """A person takes the conversation: the bot stops answering (a reply in flight stops) and
    the customer reads that they joined. Taking over what one already holds changes nothing."""
    with transaction.atomic():
        if not _take(conversation, user):
            inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def _take(conversation: Conversation, user: Any) -> bool:
    """Inside the caller's transaction: ``user`` holds the conversation afterwards. When they
    did not before, the bot's reply in flight stops and the joined notice is stored and
    published; returns whether it changed hands."""
    taken = (
        Conversation.objects.filter(pk=conversation.pk)
        .exclude(status=Conversation.Status.HUMAN, agent=user)
        .update(status=Conversation.Status.HUMAN, agent=user, updated_at=timezone.now())
    )
    if not taken:
        return False
    replies_supersede(conversation)
    conversation_pickup_record(conversation.pk)
    seq, _ = seqs_allocate(conversation.id, 1)
    # ``handoff``: a person has the conversation from here on (the left notice clears it).
    notice = notice_create(
        conversation_id=conversation.id,
        seq=seq,
        text=JOINED_NOTICE.format(name=display_name(user)),
        author=user,
        handoff=True,
    )
    publish_on_commit(notice)
    return True


def conversation_handback(*, conversation: Conversation, user: Any) -> Conversation:
    """The bot answers again. When a person held the conversation, the customer reads that they
    left, and the bot answers the customer's latest message if nobody did (it may have come
    while the agent was away), as it answers a new one."""
    with transaction.atomic():
        held = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("agent")
            .filter(pk=conversation.pk, status=Conversation.Status.HUMAN)
            .first()
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.BOT, agent=None, updated_at=timezone.now()
        )
        if held is None:
            inbox_on_commit(conversation.pk)
        else:
            agent = held.agent or user
            question = _unanswered_question(conversation)
            seq, _ = seqs_allocate(conversation.id, 1 if question is None else 2)
            notice = notice_create(
                conversation_id=conversation.id,
                seq=seq,
                text=LEFT_NOTICE.format(name=display_name(agent)),
                author=agent,
            )
            reply = None
            if question is not None:
                reply = reply_pending_create(conversation=conversation, seq=seq + 1, question=question)
            publish_on_commit(notice, reply=reply)
    conversation.refresh_from_db()
    return conversation


def _unanswered_question(conversation: Conversation) -> Message | None:
    """The conversation's latest customer message when no assistant or agent message came after it."""
    question = conversation.messages.filter(role=Message.Role.CUSTOMER).order_by("-seq").first()
    if question is None:
        return None
    answered = conversation.messages.filter(
        seq__gt=question.seq, role__in=[Message.Role.ASSISTANT, Message.Role.AGENT]
    ).exists()
    return None if answered else question


def agent_message_create(*, conversation: Conversation, user: Any, text: str) -> Message:
    """An agent's reply, pushed to the customer live. Replying takes the conversation over
    (the customer reads the joined notice first)."""
    with transaction.atomic():
        _take(conversation, user)
        seq, _ = seqs_allocate(conversation.id, 1)
        message = Message.objects.create(
            conversation=conversation, seq=seq, role=Message.Role.AGENT, text=text, author=user
        )
        publish_on_commit(message)
    conversation.refresh_from_db()
    return message


def agent_typing(*, conversation_id: object, user: Any, active: object) -> None:
    """Tell the customer that the agent who holds the conversation started or stopped typing
    (relayed live, never stored). Anyone else is refused with ``forbidden``."""
    if not isinstance(active, bool):
        raise InvalidInput("invalid", "'active' must be true or false.")
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        raise InvalidInput("invalid", "'conversation_id' must be a conversation's id.") from None
    held = Conversation.objects.filter(pk=pk, status=Conversation.Status.HUMAN, agent_id=user.pk).exists()
    if not held:
        raise InvalidInput("forbidden", "Only the agent who has taken the conversation over can show typing.")
    streaming.publish_typing(pk, name=display_name(user), active=active)


def note_create(*, conversation: Conversation, user: Any, text: str) -> Note:
    note = Note.objects.create(conversation=conversation, author=user, text=text)
    transaction.on_commit(lambda: streaming.publish_note(note), robust=True)
    return note


def messages_approve(*, message_ids: list[Any], approved: bool = True) -> int:
    """Mark assistant and agent answers as training material for ``train_responder``."""
    return Message.objects.filter(
        pk__in=message_ids, role__in=[Message.Role.ASSISTANT, Message.Role.AGENT], status=Message.Status.COMPLETE
    ).update(approved_for_training=approved)
