"""Conversations and the messages customers send: a new conversation and its token, a message
with its pending reply (in one transaction), resends, feedback and ratings."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from conversations import counters, ratelimit
from conversations.models import Conversation, ConversationToken, Customer, Message, token_digest
from conversations.redaction import redact
from conversations.services.common import (
    ConversationNotFound,
    InvalidInput,
    TokenInvalid,
    conversation_flag_for_human,
    inbox_on_commit,
    notice_create,
    publish_on_commit,
    seqs_allocate,
)
from conversations.services.offline import offline_notice_on_handoff
from conversations.services.replies import replies_supersede, reply_pending_create


@dataclass(frozen=True)
class CustomerMessageResult:
    message: Message
    reply: Message | None
    created: bool


def conversation_create(*, origin: str = "", customer: Customer | None = None) -> tuple[Conversation, str]:
    """A new conversation and its bearer token (returned once, stored only as a hash);
    ``customer``: the signed-in customer it belongs to (services/customers.py verified them)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation.objects.create(
        token_hash=token_digest(token), origin=origin.replace("\x00", "")[:300], customer=customer
    )
    counters.count("parley_conversations_started")
    return conversation, token


def conversation_authenticate(*, conversation_id: str, token: str) -> Conversation:
    try:
        conversation = Conversation.objects.get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist):
        raise ConversationNotFound(conversation_id) from None
    if not token or not (conversation.token_matches(token) or _device_token_matches(conversation, token)):
        raise TokenInvalid(conversation_id)
    return conversation


def _device_token_matches(conversation: Conversation, token: str) -> bool:
    """A token another device got by resuming the conversation (services/customers.py)."""
    return conversation.customer_id is not None and (
        ConversationToken.objects.filter(conversation=conversation, token_hash=token_digest(token)).exists()
    )


def customer_message_create(*, conversation: Conversation, text: str, client_id: uuid.UUID) -> CustomerMessageResult:
    """Store a customer message and, when the bot answers, its pending reply.

    Idempotent on ``client_id``: resending returns the stored message and creates nothing.
    Generation is enqueued only once the transaction has committed.
    """
    existing = _existing_by_client_id(conversation, client_id)
    if existing is not None:
        return existing
    return _customer_message_store(conversation=conversation, text=text, client_id=client_id)


def customer_message_receive(
    *, conversation: Conversation, text: str, client_id: uuid.UUID, address: str
) -> CustomerMessageResult:
    """A message as a customer sends it (socket or HTTP), in one call: a resend returns what
    was stored and is never counted; a new message passes the rate limits (raises
    ``ratelimit.RateLimited``), then is stored like ``customer_message_create``."""
    existing = _existing_by_client_id(conversation, client_id)
    if existing is not None:
        return existing
    ratelimit.check_message(conversation_id=str(conversation.id), address=address)
    return _customer_message_store(conversation=conversation, text=text, client_id=client_id)


def _customer_message_store(*, conversation: Conversation, text: str, client_id: uuid.UUID) -> CustomerMessageResult:
    try:
        with transaction.atomic():
            # The message's seq, and its reply's when the bot answers.
            first, conversation.status = seqs_allocate(conversation.id, 1, more_if_bot=1)
            bot_answers = conversation.bot_answers
            message = Message.objects.create(
                conversation=conversation,
                seq=first,
                role=Message.Role.CUSTOMER,
                text=redact(text) if settings.REDACT_STORED else text,
                status=Message.Status.COMPLETE,
                client_id=client_id,
            )
            # One reply in flight per conversation: a newer message supersedes it, and the new
            # reply answers with everything the customer has said.
            replies_supersede(conversation)
            reply = None
            if bot_answers:
                reply = reply_pending_create(conversation=conversation, seq=first + 1, question=message)
            publish_on_commit(message, reply=reply)
            counters.count("parley_customer_messages")
    except IntegrityError:
        # Lost a race with the same client_id: the other request stored it.
        existing = _existing_by_client_id(conversation, client_id)
        if existing is None:
            raise
        return existing
    return CustomerMessageResult(message=message, reply=reply, created=True)


def _existing_by_client_id(conversation: Conversation, client_id: uuid.UUID) -> CustomerMessageResult | None:
    message = Message.objects.filter(conversation=conversation, client_id=client_id).first()
    if message is None:
        return None
    reply = message.replies.filter(role=Message.Role.ASSISTANT).first()
    return CustomerMessageResult(message=message, reply=reply, created=False)


HANDOFF_NOTICE = "We've asked a member of our team to join. You can keep writing here."


def conversation_handoff_request(*, conversation: Conversation) -> Conversation:
    """The customer asks for a person (the widget's "Talk to a person"): a conversation the bot
    has flips to ``needs_human``, the customer reads a notice (``handoff`` set, so a client
    knows it waits for a person), out of hours the offline notice too, and the staff inbox
    hears of it. Idempotent: asking again,
    or once a person has it, changes nothing."""
    with transaction.atomic():
        if conversation_flag_for_human(conversation.pk):
            seq, _ = seqs_allocate(conversation.id, 1)
            publish_on_commit(
                notice_create(conversation_id=conversation.id, seq=seq, text=HANDOFF_NOTICE, handoff=True)
            )
            offline_notice_on_handoff(conversation_id=conversation.id)
    conversation.refresh_from_db()
    return conversation


def messages_after(*, conversation: Conversation, after: int) -> list[Message]:
    return list(
        Message.objects.filter(conversation=conversation, seq__gt=after).select_related("author").order_by("seq")
    )


def message_feedback(*, conversation: Conversation, message_id: object, value: object) -> Message:
    """Thumbs up (1) or down (-1) from the customer on one of the bot's replies."""
    if value not in (1, -1) or isinstance(value, bool):
        raise InvalidInput("invalid", "'value' must be 1 or -1.")
    try:
        message = Message.objects.get(
            pk=uuid.UUID(str(message_id)), conversation=conversation, role=Message.Role.ASSISTANT
        )
    except (ValueError, Message.DoesNotExist):
        raise InvalidInput("invalid", "'message_id' is not a reply of this conversation.") from None
    vote = 1 if value == 1 else -1
    if Message.objects.filter(pk=message.pk).exclude(feedback=vote).update(feedback=vote):
        counters.count("parley_feedback", 1, "up" if vote == 1 else "down")  # a vote cast, or changed
    message.feedback = vote
    return message


def conversation_rate(*, conversation: Conversation, stars: object, comment: object = "") -> Conversation:
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidInput("invalid", "'stars' must be a whole number from 1 to 5.")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidInput("invalid", "'comment' must be a string of at most 2000 characters.")
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(rating=stars, rating_comment=comment.strip())
        inbox_on_commit(conversation.pk)
        counters.count("parley_conversation_ratings")
        counters.count("parley_conversation_rating_stars", stars)
    conversation.refresh_from_db()
    return conversation
