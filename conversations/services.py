"""The one module that writes conversations and messages.

Callers (consumer, API views, admin, Celery tasks) validate with ``check_*``, call one
function here and forward its result. Every write is one transaction; events reach the
conversation's channel-layer group only after that transaction commits.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from conversations import ratelimit, streaming
from conversations.models import AuditLog, Conversation, Message, Note, token_digest
from conversations.redaction import redact

FAILED_REPLY_TEXT = (
    "Sorry, I couldn't answer that just now. A member of our team will take over this conversation and reply here."
)


class InvalidInput(ValueError):
    """Input a client sent that we refuse; ``code`` is the websocket/HTTP error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ConversationNotFound(LookupError):
    pass


class TokenInvalid(PermissionError):
    pass


# --- validation -----------------------------------------------------------------------------
def check_customer_text(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput("invalid", "'text' must be a string.")
    text = text.replace("\x00", "").strip()
    if not text:
        raise InvalidInput("invalid", "'text' must not be empty.")
    limit = settings.MESSAGE_MAX_CHARS
    if len(text) > limit:
        raise InvalidInput("too_long", f"A message can be at most {limit} characters long.")
    return text


def check_client_id(value: object) -> uuid.UUID:
    if not isinstance(value, str):
        raise InvalidInput("invalid", "'client_id' must be a UUID string.")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput("invalid", "'client_id' must be a UUID string.") from None


def check_seq(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("invalid", "'after' must be a whole number of at least 0.")
    return value


# --- conversations ----------------------------------------------------------------------------
def conversation_create(*, origin: str = "") -> tuple[Conversation, str]:
    """A new conversation and its bearer token (returned once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation.objects.create(token_hash=token_digest(token), origin=origin[:300])
    return conversation, token


def conversation_authenticate(*, conversation_id: str, token: str) -> Conversation:
    try:
        conversation = Conversation.objects.get(pk=uuid.UUID(str(conversation_id)))
    except (ValueError, Conversation.DoesNotExist):
        raise ConversationNotFound(conversation_id) from None
    if not token or not conversation.token_matches(token):
        raise TokenInvalid(conversation_id)
    return conversation


def _allocate_seqs(conversation_id: uuid.UUID, count: int, *, more_if_bot: int = 0) -> tuple[int, str]:
    """Reserve ``count`` consecutive seqs, ``more_if_bot`` more when the bot answers the
    conversation, inside the caller's transaction; returns the first and the conversation's
    status, read under the same lock.

    One ``UPDATE ... RETURNING`` (SQLite 3.35+, PostgreSQL): it takes the conversation's row
    lock (PostgreSQL) or the write lock (SQLite in IMMEDIATE mode), so concurrent writers
    never get the same seq, and a customer message learns whether its reply is due in the
    same statement (7 queries to store one, against 9 when the status and the counter were
    read apart).
    """
    quote = connection.ops.quote_name
    pk = Conversation._meta.pk
    assert pk is not None
    now = Conversation._meta.get_field("updated_at").get_db_prep_value(timezone.now(), connection)
    answers = ", ".join(["%s"] * len(Conversation.BOT_ANSWERS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(Conversation._meta.db_table)} "
            f"SET {quote('last_seq')} = {quote('last_seq')} + %s + "
            f"(CASE WHEN {quote('status')} IN ({answers}) THEN %s ELSE 0 END), {quote('updated_at')} = %s "
            f"WHERE {quote(pk.column)} = %s RETURNING {quote('last_seq')}, {quote('status')}",
            [count, *Conversation.BOT_ANSWERS, more_if_bot, now, pk.get_db_prep_value(conversation_id, connection)],
        )
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(conversation_id)
    last, status = int(row[0]), str(row[1])
    return last - count - (more_if_bot if status in Conversation.BOT_ANSWERS else 0) + 1, status


@dataclass(frozen=True)
class CustomerMessageResult:
    message: Message
    reply: Message | None
    created: bool


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
            first, conversation.status = _allocate_seqs(conversation.id, 1, more_if_bot=1)
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
            _supersede_in_flight(conversation)
            reply = None
            if bot_answers:
                reply = Message.objects.create(
                    conversation=conversation,
                    seq=first + 1,
                    role=Message.Role.ASSISTANT,
                    status=Message.Status.PENDING,
                    reply_to=message,
                )
                _enqueue_reply_on_commit(reply)
            _publish_on_commit(message)
    except IntegrityError:
        # Lost a race with the same client_id: the other request stored it.
        existing = _existing_by_client_id(conversation, client_id)
        if existing is None:
            raise
        return existing
    return CustomerMessageResult(message=message, reply=reply, created=True)


def _supersede_in_flight(conversation: Conversation) -> list[str]:
    """Drop replies not started yet; ask streaming ones to stop (they keep their text)."""
    in_flight = Message.objects.filter(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status__in=[Message.Status.PENDING, Message.Status.STREAMING],
    )
    Message.objects.filter(pk__in=[m.pk for m in in_flight if m.status == Message.Status.PENDING]).delete()
    streaming_ids = [str(m.id) for m in in_flight if m.status == Message.Status.STREAMING]
    for message_id in streaming_ids:
        transaction.on_commit(lambda mid=message_id: streaming.request_stop(mid), robust=True)  # type: ignore[misc]
    return streaming_ids


def reply_stop(*, conversation: Conversation) -> list[str]:
    """The customer pressed stop: the reply in flight ends with the text it has."""
    with transaction.atomic():
        return _supersede_in_flight(conversation)


def _publish_on_commit(message: Message) -> None:
    # robust: the message is stored whatever happens to Redis; clients that miss the event
    # get it by ``resume`` or by polling. Through the outbox: the caller (a customer waiting
    # for ``ack``, a worker finishing a reply) does not wait on the group send, and the
    # events still go out in order, after any delta this process sent before.
    transaction.on_commit(lambda: streaming.publish_message_soon(message), robust=True)
    _inbox_on_commit(message.conversation_id)


def _inbox_on_commit(conversation_id: uuid.UUID) -> None:
    """Tell the staff console that this conversation changed (after commit, best effort)."""

    def send() -> None:
        conversation = Conversation.objects.select_related("agent").get(pk=conversation_id)
        streaming.publish_inbox_soon(conversation)

    transaction.on_commit(send, robust=True)


def _existing_by_client_id(conversation: Conversation, client_id: uuid.UUID) -> CustomerMessageResult | None:
    message = Message.objects.filter(conversation=conversation, client_id=client_id).first()
    if message is None:
        return None
    reply = message.replies.filter(role=Message.Role.ASSISTANT).first()
    return CustomerMessageResult(message=message, reply=reply, created=False)


def _enqueue_reply_on_commit(reply: Message) -> None:
    from generation.tasks import generate_reply

    reply_id = str(reply.id)
    # robust: if the broker is down the reply stays pending and the sweeper re-enqueues it.
    transaction.on_commit(lambda: generate_reply.delay(reply_id), robust=True)


def messages_after(*, conversation: Conversation, after: int) -> list[Message]:
    return list(Message.objects.filter(conversation=conversation, seq__gt=after).order_by("seq"))


# --- replies (written by the generation task) ---------------------------------------------
def reply_claim(*, message_id: str) -> Message | None:
    """Take a pending reply for generation; ``None`` when it is done, taken, or gone.

    A reply stuck in ``streaming`` longer than ``GENERATION_TIMEOUT`` (its worker died) may
    be claimed again.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.GENERATION_TIMEOUT * 1.5)
    claimed = Message.objects.filter(
        Q(status=Message.Status.PENDING) | Q(status=Message.Status.STREAMING, claimed_at__lt=stale),
        id=message_id,
        role=Message.Role.ASSISTANT,
    ).update(status=Message.Status.STREAMING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed == 0:
        return None
    return Message.objects.select_related("conversation", "reply_to").get(id=message_id)


def reply_progress(*, message_id: str, text: str) -> None:
    """Save the text streamed so far, so a client that reconnects mid-reply sees it."""
    Message.objects.filter(id=message_id, status=Message.Status.STREAMING).update(text=text)


class ReplyMeta(TypedDict, total=False):
    model_name: str
    prompt_tokens: int
    completion_tokens: int
    queued_ms: int
    first_token_ms: int
    first_delta_ms: int
    generation_ms: int
    sources: list[dict[str, Any]]
    grounded: bool
    handoff: bool


def reply_complete(*, message_id: str, text: str, meta: ReplyMeta) -> Message | None:
    """Store the final text; ``None`` if the reply is no longer streaming (e.g. cancelled)."""
    with transaction.atomic():
        updated = Message.objects.filter(id=message_id, status=Message.Status.STREAMING).update(
            text=text, status=Message.Status.COMPLETE, error="", **meta
        )
        if not updated:
            return None
        message = Message.objects.get(id=message_id)
        if meta.get("handoff"):
            Conversation.objects.filter(pk=message.conversation_id, status=Conversation.Status.BOT).update(
                status=Conversation.Status.NEEDS_HUMAN
            )
        _publish_on_commit(message)
    return message


def reply_release(*, message_id: str, error: str) -> None:
    """Put a reply back to ``pending`` so a retry of its task can claim it."""
    Message.objects.filter(id=message_id, status=Message.Status.STREAMING).update(
        status=Message.Status.PENDING, text="", error=error[:2000]
    )


def reply_fail(*, message_id: str, error: str) -> Message | None:
    """Give up on a reply: tell the customer in plain words and flag a human."""
    with transaction.atomic():
        updated = Message.objects.filter(
            id=message_id,
            status__in=[Message.Status.PENDING, Message.Status.STREAMING],
        ).update(
            status=Message.Status.FAILED,
            text=FAILED_REPLY_TEXT,
            handoff=True,
            error=error[:2000],
        )
        if not updated:
            return None
        message = Message.objects.get(id=message_id)
        Conversation.objects.filter(
            pk=message.conversation_id,
            status__in=[Conversation.Status.BOT, Conversation.Status.NEEDS_HUMAN],
        ).update(status=Conversation.Status.NEEDS_HUMAN)
        _publish_on_commit(message)
    return message


# --- staff ------------------------------------------------------------------------------------------
def check_staff_text(text: object, *, limit: int = 8000) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("invalid", "'text' must be a non-empty string.")
    text = text.replace("\x00", "").strip()
    if len(text) > limit:
        raise InvalidInput("too_long", f"'text' can be at most {limit} characters long.")
    return text


def conversation_takeover(*, conversation: Conversation, user: Any) -> Conversation:
    """A person takes the conversation: the bot stops answering (a reply in flight stops)."""
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.HUMAN, agent=user, updated_at=timezone.now()
        )
        _supersede_in_flight(conversation)
        _inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def conversation_handback(*, conversation: Conversation, user: Any) -> Conversation:
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.BOT, agent=None, updated_at=timezone.now()
        )
        _inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def agent_message_create(*, conversation: Conversation, user: Any, text: str) -> Message:
    """An agent's reply, pushed to the customer live. Replying takes the conversation over."""
    with transaction.atomic():
        if conversation.status != Conversation.Status.HUMAN or conversation.agent_id != user.pk:
            Conversation.objects.filter(pk=conversation.pk).update(status=Conversation.Status.HUMAN, agent=user)
            _supersede_in_flight(conversation)
        seq, _ = _allocate_seqs(conversation.id, 1)
        message = Message.objects.create(
            conversation=conversation, seq=seq, role=Message.Role.AGENT, text=text, author=user
        )
        _publish_on_commit(message)
    conversation.refresh_from_db()
    return message


def note_create(*, conversation: Conversation, user: Any, text: str) -> Note:
    note = Note.objects.create(conversation=conversation, author=user, text=text)
    transaction.on_commit(lambda: streaming.publish_note(note), robust=True)
    return note


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
    Message.objects.filter(pk=message.pk).update(feedback=value)
    message.feedback = 1 if value == 1 else -1
    return message


def conversation_rate(*, conversation: Conversation, stars: object, comment: object = "") -> Conversation:
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidInput("invalid", "'stars' must be a whole number from 1 to 5.")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise InvalidInput("invalid", "'comment' must be a string of at most 2000 characters.")
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(rating=stars, rating_comment=comment.strip())
        _inbox_on_commit(conversation.pk)
    conversation.refresh_from_db()
    return conversation


def messages_approve(*, message_ids: list[Any], approved: bool = True) -> int:
    """Mark assistant and agent answers as training material for ``train_responder``."""
    return Message.objects.filter(
        pk__in=message_ids, role__in=[Message.Role.ASSISTANT, Message.Role.AGENT], status=Message.Status.COMPLETE
    ).update(approved_for_training=approved)


# --- privacy: retention and data-subject requests ---------------------------------------------------
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
    from conversations.payloads import message_payload, note_payload

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
