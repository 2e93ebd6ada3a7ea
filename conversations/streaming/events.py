"""Group names, event types, and the functions that publish each event.

A conversation's group carries what its customer sees (whole messages, deltas); the staff
groups carry what only staff see (the inbox, notes, suggestions). Event payloads are the
``TypedDict``s of conversations/payloads.py.
"""

from __future__ import annotations

import uuid
from typing import Final

from conversations.models import Conversation, Message, Note
from conversations.payloads import (
    DeltaEvent,
    InboxEvent,
    MessageEvent,
    NoteEvent,
    TypingEvent,
    conversation_summary,
    message_payload,
    note_payload,
)
from conversations.streaming import publisher

EVENT_MESSAGE: Final = "conversation.message"
EVENT_DELTA: Final = "conversation.delta"
STAFF_INBOX = "staff.inbox"
EVENT_INBOX: Final = "inbox.update"
EVENT_NOTE: Final = "staff.note"
EVENT_TYPING: Final = "conversation.typing"


def group_name(conversation_id: uuid.UUID | str) -> str:
    return f"conversation.{uuid.UUID(str(conversation_id)).hex}"


def staff_group_name(conversation_id: uuid.UUID | str) -> str:
    """Staff-only events of one conversation (notes, suggestions): customers never join it."""
    return f"staff.conversation.{uuid.UUID(str(conversation_id)).hex}"


def publish_message_soon(message: Message, *, reply_id: str | None = None) -> None:
    """Send a whole message to its conversation's group through the outbox: returns at once;
    sent after what this process put there before, and after any delta it sent before.
    ``reply_id``: the reply that answers a customer message."""
    event: MessageEvent = {"type": EVENT_MESSAGE, "message": message_payload(message)}
    if reply_id is not None:
        event["reply_id"] = reply_id
    publisher.outbox_put(group_name(message.conversation_id), dict(event))


def publish_inbox_soon(conversation: Conversation) -> None:
    """Tell the staff inboxes that ``conversation`` changed, through the outbox."""
    event: InboxEvent = {"type": EVENT_INBOX, "conversation": conversation_summary(conversation)}
    publisher.outbox_put(STAFF_INBOX, dict(event))


def publish_delta(conversation_id: uuid.UUID | str, message_id: str, text: str, offset: int) -> None:
    """Send the next piece of a reply's text; returns once it is sent, so deltas keep their order."""
    event: DeltaEvent = {"type": EVENT_DELTA, "message_id": message_id, "text": text, "offset": offset}
    publisher.group_send(group_name(conversation_id), dict(event))


def publish_typing(conversation_id: uuid.UUID | str, *, name: str, active: bool) -> None:
    """Tell the conversation's sockets that its agent ``name`` started or stopped typing,
    through the outbox (best effort: a lost one is outdated by the next, or by the message)."""
    event: TypingEvent = {"type": EVENT_TYPING, "role": "agent", "name": name, "active": active}
    publisher.outbox_put(group_name(conversation_id), dict(event))


def publish_note(note: Note) -> None:
    event: NoteEvent = {"type": EVENT_NOTE, "conversation_id": str(note.conversation_id), "note": note_payload(note)}
    publisher.group_send(staff_group_name(note.conversation_id), dict(event))


def publish_staff(conversation_id: uuid.UUID | str, event: dict[str, object]) -> None:
    publisher.group_send(staff_group_name(conversation_id), dict(event))
