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


# A question the model answers (a knowledge-base one: small talk and handoffs are the bot's
# own fixed lines), and the article that answers it.
KB_QUESTION = "How much does express shipping cost?"
SHIPPING_ARTICLE = {
    "title": "Shipping costs",
    "body": "Express shipping costs $19.95 on any order. Standard shipping is free on orders over $75; "
    "below that it costs $6.95. Orders placed before 2 pm ship the same day.",
}


def shipping_article() -> None:
    """The article that answers ``KB_QUESTION``, stored as ``import_kb`` stores it."""
    from generation.knowledge import articles, formats  # noqa: PLC0415 - only the tests that need a knowledge base

    article = formats.ArticleInput(title=SHIPPING_ARTICLE["title"], body=SHIPPING_ARTICLE["body"])
    articles.kb_import([article], replace=True)


def messages(conv: Conversation) -> list[Message]:
    return list(conv.messages.order_by("seq"))


def bot_reply(conv: Conversation, seq: int, **fields: object) -> Message:
    """An assistant message written straight to the database (for metrics and ops figures)."""
    defaults: dict[str, object] = {"role": "assistant", "status": "complete", "text": "a"}
    return Message.objects.create(conversation=conv, seq=seq, **{**defaults, **fields})


def unqueued_reply(conv: Conversation, text: str = "Hello, how are you?") -> Message:
    """A customer message and its pending reply stored without a task, as if the broker had
    been down when the message came in."""
    question = Message.objects.create(conversation=conv, seq=1, role="customer", text=text)
    return Message.objects.create(conversation=conv, seq=2, role="assistant", status="pending", reply_to=question)
