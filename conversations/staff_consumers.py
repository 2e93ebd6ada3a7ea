"""Staff websocket ``/ws/staff/``: the console's live inbox and the watched conversation.

Session-authenticated (the console page's login); anyone who is not active staff is closed
with 4403 before any data.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from conversations import selectors, services, streaming
from conversations.models import Message
from conversations.payloads import DeltaEvent, InboxEvent, MessageEvent, NoteEvent, StoredReply, TypingEvent
from conversations.sockets import WebsocketConsumer, run_catch_up_read

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403


async def _fetch_replies(reply_ids: list[str]) -> dict[str, StoredReply]:
    return await run_catch_up_read(selectors.replies_stored, reply_ids=reply_ids)


# The catch-up reads of this process's staff sockets, one query for all of them at a time.
stored_replies = streaming.StoredReplies(_fetch_replies)


class StaffConsumer(WebsocketConsumer):
    watching: str | None = None
    # The watched conversation's replies, caught up when their live events are lost; a new one
    # for each conversation watched (see conversations/streaming/catchup.py).
    replies: streaming.ReplyWatch | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        if user is None or not user.is_active or not user.is_staff:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(streaming.STAFF_INBOX, self.channel_name)
        inbox = await database_sync_to_async(selectors.inbox)()
        await self._send({"type": "inbox", "conversations": inbox})

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(streaming.STAFF_INBOX, self.channel_name)
        await self._unwatch()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "typing":
            await self._on_typing(frame)
            return
        try:
            if not isinstance(frame, dict) or frame.get("type") != "watch":
                raise ValueError
            detail = await database_sync_to_async(selectors.conversation_detail)(str(frame.get("conversation_id")))
        except (ValueError, LookupError):
            await self._send(
                {
                    "type": "error",
                    "code": "invalid",
                    "detail": "Send {type: watch, conversation_id} or {type: typing, conversation_id, active}.",
                }
            )
            return
        await self._unwatch()
        self.watching = watching = detail["conversation"]["id"]
        self.replies = replies = streaming.ReplyWatch(
            socket="staff",
            send=self._send_now,
            read=lambda ids: self._read_replies(watching, ids),
            silence_s=settings.REPLY_CATCHUP_SECONDS,
            message_fields={"conversation_id": watching},
        )
        # Events between the read above and joining the groups are missed: replies in flight
        # are awaited from the text the read saw, and caught up if they fall silent.
        for message in detail["messages"]:
            if message["role"] == Message.Role.ASSISTANT:
                if message["status"] in streaming.FINAL_STATUSES:
                    replies.finished(message["id"])
                else:
                    replies.expect(message["id"], have=len(message["text"]))
        await self.channel_layer.group_add(streaming.group_name(watching), self.channel_name)
        await self.channel_layer.group_add(streaming.staff_group_name(watching), self.channel_name)
        await self._send({"type": "conversation", **detail})

    async def _on_typing(self, frame: dict[str, Any]) -> None:
        try:
            await database_sync_to_async(services.agent_typing)(
                conversation_id=frame.get("conversation_id"), user=self.scope["user"], active=frame.get("active")
            )
        except services.InvalidInput as exc:
            await self._send({"type": "error", "code": exc.code, "detail": exc.detail})

    async def _read_replies(self, conversation_id: str, reply_ids: list[str]) -> dict[str, StoredReply]:
        return await stored_replies.read(conversation_id, reply_ids)

    async def _unwatch(self) -> None:
        if self.replies is not None:
            self.replies.close()
            self.replies = None
        if self.watching:
            await self.channel_layer.group_discard(streaming.group_name(self.watching), self.channel_name)
            await self.channel_layer.group_discard(streaming.staff_group_name(self.watching), self.channel_name)
            self.watching = None

    # --- events ------------------------------------------------------------------------------
    async def inbox_update(self, event: InboxEvent) -> None:
        await self._send({"type": "inbox.update", "conversation": event["conversation"]})

    async def conversation_message(self, event: MessageEvent) -> None:
        if self.replies is None:  # an event of a conversation no longer watched
            return
        frame = {"type": "message", "conversation_id": self.watching, "message": event["message"]}
        if event["message"]["role"] == Message.Role.CUSTOMER:
            if "reply_id" in event:
                self.replies.expect(event["reply_id"])
            await self._send(frame)
            return
        if "reply_id" in event:  # a hand-back notice: the bot now answers what nobody did
            self.replies.expect(event["reply_id"])
            frame["reply_id"] = event["reply_id"]
        await self.replies.message(frame, event["message"])

    async def conversation_typing(self, event: TypingEvent) -> None:
        """Agent typing is for the customer; the console shows its own."""

    async def conversation_delta(self, event: DeltaEvent) -> None:
        if self.replies is not None:
            await self.replies.delta(event)

    async def staff_note(self, event: NoteEvent) -> None:
        await self._send({"type": "note", "conversation_id": event["conversation_id"], "note": event["note"]})

    async def staff_suggestions(self, event: dict[str, Any]) -> None:
        await self._send(
            {"type": "suggestions", "conversation_id": event["conversation_id"], "suggestions": event["suggestions"]}
        )

    async def _send(self, frame: dict[str, Any]) -> None:
        if self.replies is not None:
            await self.replies.send(frame)
        else:
            await self._send_now(frame)

    async def _send_now(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
