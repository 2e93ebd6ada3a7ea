"""Typed shapes of every API payload, websocket frame and channel-layer event.

Events cross Redis as msgpack, so everything here must be plain JSON-able data. The HTTP
API declares its responses with these ``TypedDict``s, so the OpenAPI document at
``/api/schema/`` is generated from them (``typing_extensions.TypedDict``: pydantic reads
them; the ``Annotated`` metadata only adds to that document).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NotRequired

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from conversations.models import Conversation, Customer, Message, Note, SavedReply

UuidStr = Annotated[str, Field(json_schema_extra={"format": "uuid"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class ErrorDetail(TypedDict):
    code: str
    detail: str


class ErrorPayload(TypedDict):
    """Every HTTP error: ``code`` is stable (``invalid``, ``too_long``, ``unauthorized`` …),
    ``detail`` is for people."""

    error: ErrorDetail


def error_payload(code: str, detail: str) -> ErrorPayload:
    return {"error": {"code": code, "detail": detail}}


@with_config(ConfigDict(extra="allow"))
class SourcePayload(TypedDict):
    title: str
    score: NotRequired[float]
    section: NotRequired[str]
    url: NotRequired[str]


class MessagePayload(TypedDict):
    id: UuidStr
    seq: Annotated[int, Field(ge=1)]
    role: Annotated[str, Field(json_schema_extra={"enum": list(Message.Role.values)})]
    text: str
    status: Annotated[str, Field(json_schema_extra={"enum": list(Message.Status.values)})]
    created_at: Timestamp
    sources: list[SourcePayload]
    grounded: bool
    handoff: bool
    mode: Annotated[
        str,
        Field(
            description="How an assistant reply was made (model, quote, smalltalk, handoff, declined, "
            "stopped, failed); 'notice' for a system line about the conversation (a person joined, "
            "left, or was asked for); empty otherwise."
        ),
    ]
    author_name: Annotated[
        str,
        Field(
            description="The display name of the agent who wrote an agent message, or whom a system notice "
            "is about; empty otherwise."
        ),
    ]


class ConversationCreated(TypedDict):
    id: UuidStr
    token: Annotated[str, Field(description="The conversation's bearer token, shown once.")]
    ws_url: str


class ConversationResumed(ConversationCreated):
    """A signed-in customer's open conversation, with a token of this device's own."""

    created: Annotated[bool, Field(description="No conversation was open: this one is new.")]


# --- HTTP responses ---------------------------------------------------------------------
class MessagesResponse(TypedDict):
    messages: list[MessagePayload]


class MessageResponse(TypedDict):
    message: MessagePayload


# --- websocket frames, server -> client -------------------------------------------------
class AckFrame(TypedDict):
    type: Literal["ack"]
    client_id: str
    message: MessagePayload


class DeltaFrame(TypedDict):
    type: Literal["delta"]
    message_id: str
    text: str
    # Extension: where ``text`` starts in the reply, so a client that joined mid-stream can
    # line deltas up with the text it fetched.
    offset: int
    # Extension: sent by the server's catch-up (the live event was lost or late), not live.
    catch_up: NotRequired[bool]


class MessageFrame(TypedDict):
    type: Literal["message"]
    message: MessagePayload
    catch_up: NotRequired[bool]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    detail: str


class StoredReply(TypedDict):
    """A reply as a socket's catch-up reads it from the database."""

    conversation_id: str
    message: MessagePayload
    quiet_s: float  # seconds since its text or status was last written


# --- channel-layer events (group of one conversation) -----------------------------------
class MessageEvent(TypedDict):
    type: Literal["conversation.message"]
    message: MessagePayload
    # With a customer message the bot answers (or a hand-back notice after which the bot
    # answers what nobody did): the reply, so every socket of the conversation (another tab, a
    # watching console) knows what to wait for.
    reply_id: NotRequired[str]


class TypingEvent(TypedDict):
    """An agent who holds the conversation started or stopped typing (relayed, never stored)."""

    type: Literal["conversation.typing"]
    role: Literal["agent"]
    name: str
    active: bool


class TypingFrame(TypedDict):
    type: Literal["typing"]
    role: Literal["agent"]
    name: str
    active: bool


class DeltaEvent(TypedDict):
    type: Literal["conversation.delta"]
    message_id: str
    text: str
    offset: int


def message_payload(message: Message) -> MessagePayload:
    return {
        "id": str(message.id),
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "status": message.status,
        "created_at": message.created_at.isoformat(),
        "sources": list(message.sources or []),
        "grounded": message.grounded,
        "handoff": message.handoff,
        "mode": message.mode,
        "author_name": author_name(message),
    }


def display_name(user: Any) -> str:
    """What customers see of a staff member: their full name, else their username."""
    return str(user.get_full_name() or user.get_username())


def author_name(message: Message) -> str:
    if message.author_id is None or message.role not in (Message.Role.AGENT, Message.Role.SYSTEM):
        return ""
    return display_name(message.author)


class CustomerPayload(TypedDict):
    """The signed-in customer a conversation belongs to, as the host site verified them."""

    user_id: str
    name: str
    email: str


def customer_payload(customer: Customer) -> CustomerPayload:
    return {"user_id": customer.user_id, "name": customer.name, "email": customer.email}


class ConversationSummary(TypedDict):
    id: UuidStr
    status: Annotated[str, Field(json_schema_extra={"enum": list(Conversation.Status.values)})]
    needs_human: bool
    agent: Annotated[str | None, Field(description="The assignee's user name (the person who took it over).")]
    agent_name: Annotated[str, Field(description="The assignee's display name; empty when unassigned.")]
    label: Annotated[str, Field(description="The customer's first message, shortened, and the short id.")]
    updated_at: Timestamp
    created_at: Timestamp
    last_activity_at: Annotated[str, Field(description="When the last message was written.")]
    waiting_since: Annotated[
        str | None,
        Field(
            description="Since when the customer waits for a person: since the bot handed over (needs_human), "
            "or since their oldest message the agent has not answered (human); null otherwise."
        ),
    ]
    needs_human_since: str | None
    picked_up_at: str | None
    customer_messages: Annotated[int, Field(description="How many messages the customer wrote (for unread counts).")]
    last_message: str
    last_role: str
    rating: int | None
    customer: Annotated[CustomerPayload | None, Field(description="The signed-in customer; null: anonymous.")]
    contact_email: Annotated[str, Field(description="Where the customer asked to be answered; empty: nowhere.")]
    offline_request: Annotated[
        bool, Field(description="The customer was told the team is offline (a handoff outside SUPPORT_HOURS).")
    ]


class NotePayload(TypedDict):
    id: int
    author: str
    text: str
    created_at: Timestamp


class StaffMessagePayload(MessagePayload):
    feedback: int | None  # the customer's thumbs on a bot reply: 1, -1 or none


class ConversationDetail(TypedDict):
    conversation: ConversationSummary
    messages: list[StaffMessagePayload]
    notes: list[NotePayload]


class ExportedConversation(TypedDict):
    id: UuidStr
    status: str
    origin: str
    created_at: Timestamp
    rating: int | None
    rating_comment: str
    contact_email: str
    customer: CustomerPayload | None


class ConversationExport(TypedDict):
    """Everything stored about one conversation, unredacted (a data-subject access request)."""

    conversation: ExportedConversation
    messages: list[MessagePayload]
    notes: list[NotePayload]


class InboxResponse(TypedDict):
    conversations: list[ConversationSummary]


class ConversationResponse(TypedDict):
    conversation: ConversationSummary


class NoteResponse(TypedDict):
    note: NotePayload


class HandoffResponse(TypedDict):
    status: Annotated[
        str,
        Field(
            description="The conversation's status afterwards: needs_human, or human when a person already has it.",
            json_schema_extra={"enum": list(Conversation.Status.values)},
        ),
    ]


class QueuedResponse(TypedDict):
    status: Literal["queued"]


class InboxEvent(TypedDict):
    type: Literal["inbox.update"]
    conversation: ConversationSummary


class SavedReplyPayload(TypedDict):
    id: int
    title: str
    text: Annotated[str, Field(description="May hold {name}-style placeholders, filled in by the console.")]


class SavedRepliesResponse(TypedDict):
    saved_replies: list[SavedReplyPayload]


def saved_reply_payload(reply: SavedReply) -> SavedReplyPayload:
    return {"id": reply.pk, "title": reply.title, "text": reply.text}


class NoteEvent(TypedDict):
    type: Literal["staff.note"]
    conversation_id: str
    note: NotePayload


LABEL_CHARS = 48


def summary_fields() -> dict[str, Any]:
    """The annotations ``conversation_summary`` reads, one subquery each, so an inbox of any
    size costs one query."""
    messages = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq")
    shown = messages.exclude(text="").exclude(role=Message.Role.SYSTEM)
    customer = messages.filter(role=Message.Role.CUSTOMER)
    # The last answer (bot or agent) of the conversation of the message this subquery looks at.
    answered = (
        Message.objects.filter(
            conversation=OuterRef("conversation"),
            role__in=[Message.Role.ASSISTANT, Message.Role.AGENT],
            status=Message.Status.COMPLETE,
        )
        .exclude(text="")
        .order_by("-seq")
        .values("seq")[:1]
    )
    return {
        "s_last_text": Subquery(shown.values("text")[:1]),
        "s_last_role": Subquery(shown.values("role")[:1]),
        "s_last_at": Subquery(messages.values("created_at")[:1]),
        "s_first_question": Subquery(customer.order_by("seq").values("text")[:1]),
        "s_customer_count": Coalesce(
            Subquery(
                customer.order_by().values("conversation").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            0,
        ),
        "s_unanswered_since": Subquery(
            customer.filter(Q(seq__gt=Coalesce(Subquery(answered), 0))).order_by("seq").values("created_at")[:1]
        ),
    }


class _SummaryQuery:
    """One conversation with its ``summary_fields``, as SQL compiled once per database vendor.

    Building and compiling the annotated queryset costs ~8 ms of Python a call, against ~0.2 ms
    to run it; the inbox is told of every customer message and every reply, so the SQL is
    compiled once and run as a raw query with the conversation's key put in its place. The
    agent and the customer load on first use, and only when the conversation has one."""

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[str, list[Any], int]] = {}

    def _compile(self) -> tuple[str, list[Any], int]:
        from django.db import connection  # noqa: PLC0415 - the vendor is known once connected

        marker = uuid.uuid4()
        query = Conversation.objects.annotate(**summary_fields()).filter(pk=marker).query
        sql, params = query.sql_with_params()
        prepared = Conversation._meta.pk.get_db_prep_value(marker, connection)
        where = [i for i, value in enumerate(params) if value == prepared]
        if len(where) != 1:
            raise RuntimeError("the summary query's key parameter is not where it was expected")
        return sql, list(params), where[0]

    def get(self, pk: uuid.UUID) -> Conversation:
        from django.db import connection  # noqa: PLC0415 - as above

        compiled = self._compiled.get(connection.vendor)
        if compiled is None:
            compiled = self._compiled[connection.vendor] = self._compile()
        sql, params, at = compiled
        params = list(params)
        params[at] = Conversation._meta.pk.get_db_prep_value(pk, connection)
        rows = list(Conversation.objects.raw(sql, params))
        if not rows:
            raise Conversation.DoesNotExist(pk)
        row: Any = rows[0]
        # A raw query converts the model's own columns only: SQLite hands the annotations'
        # times back naive (or as text), where the ORM makes them aware.
        for name in ("s_last_at", "s_unanswered_since"):
            setattr(row, name, _aware(getattr(row, name)))
        return row


def _aware(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


summary_query = _SummaryQuery()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def conversation_summary(conversation: Conversation) -> ConversationSummary:
    """``conversation`` as the inbox lists it. Reads the ``summary_fields`` annotations when
    the caller made them, and queries them (once) otherwise."""
    if not hasattr(conversation, "s_customer_count"):
        conversation = summary_query.get(conversation.pk)
    row: Any = conversation
    first = " ".join((row.s_first_question or "").split())
    short_id = str(conversation.id)[:8]
    if len(first) > LABEL_CHARS:
        first = first[: LABEL_CHARS - 1].rstrip() + "…"
    if conversation.status == Conversation.Status.NEEDS_HUMAN:
        waiting = conversation.needs_human_since or row.s_unanswered_since or conversation.updated_at
    elif conversation.status == Conversation.Status.HUMAN:
        waiting = row.s_unanswered_since
    else:
        waiting = None
    return {
        "id": str(conversation.id),
        "status": conversation.status,
        "needs_human": conversation.status == Conversation.Status.NEEDS_HUMAN,
        "agent": conversation.agent.get_username() if conversation.agent else None,
        "agent_name": display_name(conversation.agent) if conversation.agent else "",
        "label": (f"{who}: " if (who := _customer_name(conversation)) else "")
        + (f"{first} · {short_id}" if first else f"New conversation · {short_id}"),
        "updated_at": conversation.updated_at.isoformat(),
        "created_at": conversation.created_at.isoformat(),
        "last_activity_at": (row.s_last_at or conversation.created_at).isoformat(),
        "waiting_since": _iso(waiting),
        "needs_human_since": _iso(conversation.needs_human_since),
        "picked_up_at": _iso(conversation.picked_up_at),
        "customer_messages": row.s_customer_count or 0,
        "last_message": (row.s_last_text or "")[:200],
        "last_role": row.s_last_role or "",
        "rating": conversation.rating,
        "customer": customer_payload(conversation.customer) if conversation.customer else None,
        "contact_email": conversation.contact_email,
        "offline_request": conversation.offline_notice_at is not None,
    }


def _customer_name(conversation: Conversation) -> str:
    """Who a signed-in customer is, for the inbox's label: their name, else their email."""
    customer = conversation.customer
    return (customer.name or customer.email) if customer else ""


def note_payload(note: Note) -> NotePayload:
    return {
        "id": note.pk,
        "author": display_name(note.author) if note.author else "",
        "text": note.text,
        "created_at": note.created_at.isoformat(),
    }
