"""Small factories for models (plain functions: the models are simple)."""

from __future__ import annotations

import uuid

from conversations import services
from conversations.models import Conversation, Message


def conversation(**fields: object) -> tuple[Conversation, str]:
    conv, token = services.conversation_create(origin="https://shop.example/")
    if fields:
        Conversation.objects.filter(pk=conv.pk).update(**fields)
        conv.refresh_from_db()
    return conv, token


def customer_message(conv: Conversation, text: str = "Hello") -> services.CustomerMessageResult:
    return services.customer_message_create(conversation=conv, text=text, client_id=uuid.uuid4())


def messages(conv: Conversation) -> list[Message]:
    return list(conv.messages.order_by("seq"))
