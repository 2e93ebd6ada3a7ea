"""Staff websocket ``/ws/staff/``: the console's live inbox and the watched conversation.

Session-authenticated (the console page's login); anyone who is not active staff is closed
with 4403 before any data.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.db import database_sync_to_async

from conversations import selectors, streaming
from conversations.payloads import DeltaEvent, InboxEvent, MessageEvent, NoteEvent
from conversations.sockets import WebsocketConsumer

logger = logging.getLogger(__name__)
CLOSE_FORBIDDEN = 4403


class StaffConsumer(WebsocketConsumer):
    watching: str | None = None

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
            if not isinstance(frame, dict) or frame.get("type") != "watch":
                raise ValueError
            detail = await database_sync_to_async(selectors.conversation_detail)(str(frame.get("conversation_id")))
        except (ValueError, LookupError):
            await self._send({"type": "error", "code": "invalid", "detail": "Send {type: watch, conversation_id}."})
            return
        await self._unwatch()
        self.watching = detail["conversation"]["id"]
        await self.channel_layer.group_add(streaming.group_name(self.watching), self.channel_name)
        await self.channel_layer.group_add(streaming.staff_group_name(self.watching), self.channel_name)
        await self._send({"type": "conversation", **detail})

    async def _unwatch(self) -> None:
        if self.watching:
            await self.channel_layer.group_discard(streaming.group_name(self.watching), self.channel_name)
            await self.channel_layer.group_discard(streaming.staff_group_name(self.watching), self.channel_name)
            self.watching = None

    # --- events ------------------------------------------------------------------------------
    async def inbox_update(self, event: InboxEvent) -> None:
        await self._send({"type": "inbox.update", "conversation": event["conversation"]})

    async def conversation_message(self, event: MessageEvent) -> None:
        await self._send({"type": "message", "conversation_id": self.watching, "message": event["message"]})

    async def conversation_delta(self, event: DeltaEvent) -> None:
        await self._send(
            {"type": "delta", "message_id": event["message_id"], "text": event["text"], "offset": event["offset"]}
        )

    async def staff_note(self, event: NoteEvent) -> None:
        await self._send({"type": "note", "conversation_id": event["conversation_id"], "note": event["note"]})

    async def staff_suggestions(self, event: dict[str, Any]) -> None:
        await self._send(
            {"type": "suggestions", "conversation_id": event["conversation_id"], "suggestions": event["suggestions"]}
        )

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
