"""What every service module shares: the errors callers catch, the ``check_*`` validators,
the seq allocator, and the events sent once a write has committed."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from conversations import counters, streaming
from conversations.models import Conversation, Message
from conversations.payloads import summary_query


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


class IdentityRefused(PermissionError):
    """A customer identity Parley will not trust (unsigned, badly signed, or identities off);
    ``code`` is the HTTP error code, ``detail`` says which."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


STAFF_TEXT_MAX_CHARS = 8000
# The ``mode`` of a system message that tells the customer what happened to the conversation.
NOTICE_MODE = "notice"


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


def check_staff_text(text: object, *, limit: int = STAFF_TEXT_MAX_CHARS) -> str:
    if isinstance(text, str):
        text = text.replace("\x00", "").strip()
    if not isinstance(text, str) or not text:
        raise InvalidInput("invalid", "'text' must be a non-empty string.")
    if len(text) > limit:
        raise InvalidInput("too_long", f"'text' can be at most {limit} characters long.")
    return text


# --- seqs -----------------------------------------------------------------------------------------
def seqs_allocate(conversation_id: uuid.UUID, count: int, *, more_if_bot: int = 0) -> tuple[int, str]:
    """Reserve ``count`` consecutive seqs, ``more_if_bot`` more when the bot answers the
    conversation, inside the caller's transaction; returns the first and the conversation's
    status, read under the same lock.

    One ``UPDATE ... RETURNING`` (SQLite 3.35+, PostgreSQL): it takes the conversation's row
    lock (PostgreSQL) or the write lock (SQLite in IMMEDIATE mode), so concurrent writers
    never get the same seq, and a customer message learns whether its reply is due in the
    same statement.
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


# --- notices ------------------------------------------------------------------------------------
def notice_create(
    *, conversation_id: uuid.UUID, seq: int, text: str, author: Any = None, handoff: bool = False
) -> Message:
    """A system line in the conversation (``mode`` "notice") at ``seq``, which the caller
    allocated in its transaction; ``author``: the agent it is about (the customer sees their
    display name). The caller publishes it."""
    return Message.objects.create(
        conversation_id=conversation_id,
        seq=seq,
        role=Message.Role.SYSTEM,
        text=text,
        status=Message.Status.COMPLETE,
        mode=NOTICE_MODE,
        author=author,
        handoff=handoff,
    )


# --- waiting for a person ---------------------------------------------------------------------
def conversation_flag_for_human(conversation_id: uuid.UUID) -> bool:
    """The bot hands the conversation to a person, inside the caller's transaction: its wait
    for one starts now (``needs_human_since``). A conversation already waiting, or held by a
    person, is left as it is; returns whether this call flagged it."""
    return bool(
        Conversation.objects.filter(pk=conversation_id, status=Conversation.Status.BOT).update(
            status=Conversation.Status.NEEDS_HUMAN, needs_human_since=timezone.now(), picked_up_at=None
        )
    )


def conversation_pickup_record(conversation_id: uuid.UUID) -> None:
    """A person takes the conversation (a takeover or a reply), inside the caller's
    transaction: the first pickup after the bot asked for one ends its wait, and its time to
    pickup is observed once the transaction commits. Later pickups change nothing."""
    now = timezone.now()
    since = (
        Conversation.objects.filter(pk=conversation_id, needs_human_since__isnull=False, picked_up_at__isnull=True)
        .values_list("needs_human_since", flat=True)
        .first()
    )
    if since is None:
        return
    if Conversation.objects.filter(pk=conversation_id, picked_up_at__isnull=True).update(picked_up_at=now):
        counters.observe("parley_pickup_seconds", max(0.0, (now - since).total_seconds()))


# --- events after commit ----------------------------------------------------------------------
def publish_on_commit(message: Message, *, reply: Message | None = None) -> None:
    """Send ``message`` to its conversation's group, and tell the staff inbox, once the caller's
    transaction commits. ``reply``: the reply that answers ``message``, which the
    conversation's sockets then wait for.

    Robust: the message is stored whatever happens to Redis; a socket whose client waits for
    it catches it up when the event is lost, and clients can ``resume`` or poll. Through the
    outbox: the caller (a customer waiting for ``ack``, a worker finishing a reply) does not
    wait on the group send, and the events still go out in order, after any delta this
    process sent before.
    """
    reply_id = str(reply.id) if reply is not None else None
    transaction.on_commit(lambda: streaming.publish_message_soon(message, reply_id=reply_id), robust=True)
    inbox_on_commit(message.conversation_id)


def inbox_on_commit(conversation_id: uuid.UUID) -> None:
    """Tell the staff console that this conversation changed (after commit, best effort)."""

    def send() -> None:
        streaming.publish_inbox_soon(summary_query.get(conversation_id))

    transaction.on_commit(send, robust=True)
