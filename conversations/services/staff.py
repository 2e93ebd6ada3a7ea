"""What support staff do to a conversation: take it over and hand it back, reply as an agent,
leave internal notes, and approve answers as training material."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from conversations import streaming
from conversations.models import Conversation, Message, Note
from conversations.services.common import inbox_on_commit, publish_on_commit, seqs_allocate
from conversations.services.replies import replies_supersede


def conversation_takeover(*, conversation: Conversation, user: Any) -> Conversation:
    """A person takes the conversation: the bot stops answering (a reply in flight stops)."""
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.HUMAN, agent=user, updated_at=timezone.now()
        )
        replies_supersede(conversation)
        inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def conversation_handback(*, conversation: Conversation, user: Any) -> Conversation:
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.BOT, agent=None, updated_at=timezone.now()
        )
        inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def agent_message_create(*, conversation: Conversation, user: Any, text: str) -> Message:
    """An agent's reply, pushed to the customer live. Replying takes the conversation over."""
    with transaction.atomic():
        if conversation.status != Conversation.Status.HUMAN or conversation.agent_id != user.pk:
            Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.HUMAN, agent=user)
            replies_supersede(conversation)
        seq, _ = seqs_allocate(conversation.id, 1)
        message = Message.objects.create(
            conversation=conversation, seq=seq, role=Message.Role.AGENT, text=text, author=user
        )
        publish_on_commit(message)
    conversation.refresh_from_db()
    return message


def note_create(*, conversation: Conversation, user: Any, text: str) -> Note:
    note = Note.objects.create(conversation=conversation, author=user, text=text)
    transaction.on_commit(lambda: streaming.publish_note(note), robust=True)
    return note


def messages_approve(*, message_ids: list[Any], approved: bool = True) -> int:
    """Mark assistant and agent answers as training material for ``train_responder``."""
    return Message.objects.filter(
        pk__in=message_ids, role__in=[Message.Role.ASSISTANT, Message.Role.AGENT], status=Message.Status.COMPLETE
    ).update(approved_for_training=approved)
