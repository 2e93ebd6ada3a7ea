"""Customer websocket: ``/ws/conversations/<id>/?token=<secret>`` (protocol in docs/protocol.md)."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from conversations import ratelimit, selectors, services, streaming
from conversations.gauges import websocket_connections
from conversations.models import Conversation, Message
from conversations.payloads import (
    DeltaEvent,
    MessageEvent,
    StoredReply,
    TypingEvent,
    TypingFrame,
    message_payload,
)
from conversations.sockets import WebsocketConsumer, run_catch_up_read

logger = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
# A frame holds one message of at most MESSAGE_MAX_CHARS plus JSON overhead; anything far
# larger is refused before parsing.
MAX_FRAME_BYTES = 64 * 1024


async def _fetch_replies(reply_ids: list[str]) -> dict[str, StoredReply]:
    return await run_catch_up_read(selectors.replies_stored, reply_ids=reply_ids)


# The catch-up reads of this process's customer sockets, one query for all of them at a time.
stored_replies = streaming.StoredReplies(_fetch_replies)


class ConversationConsumer(WebsocketConsumer):
    conversation: Conversation
    group: str
    # Every frame goes out through it: the replies the customer waits for are caught up when
    # their live events are lost (see conversations/streaming/catchup.py).
    replies: streaming.ReplyWatch

    async def connect(self) -> None:
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        try:
            self.conversation = await database_sync_to_async(services.conversation_authenticate)(
                conversation_id=conversation_id, token=token
            )
        except services.ConversationNotFound:
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except services.TokenInvalid:
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.replies = streaming.ReplyWatch(
            socket="customer", send=self._send_now, read=self._read_replies, silence_s=settings.REPLY_CATCHUP_SECONDS
        )
        self.group = streaming.group_name(self.conversation.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        websocket_connections.labels("customer").inc()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            self.replies.close()
            websocket_connections.labels("customer").dec()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data if text_data is not None else bytes_data
        if raw is None or len(raw) > MAX_FRAME_BYTES:
            await self._error("too_long", f"A frame can be at most {MAX_FRAME_BYTES} bytes.")
            return
        try:
            frame = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            await self._error("invalid", "Frames must be JSON objects.")
            return
        if not isinstance(frame, dict):
            await self._error("invalid", "Frames must be JSON objects.")
            return
        kind = frame.get("type")
        try:
            if kind == "message":
                await self._on_message(frame)
            elif kind == "resume":
                await self._on_resume(frame)
            elif kind == "stop":
                await database_sync_to_async(services.reply_stop)(conversation=self.conversation)
            elif kind == "feedback":
                await database_sync_to_async(services.message_feedback)(
                    conversation=self.conversation, message_id=frame.get("message_id"), value=frame.get("value")
                )
            elif kind == "handoff":
                await database_sync_to_async(services.conversation_handoff_request)(conversation=self.conversation)
            elif kind == "rate":
                await database_sync_to_async(services.conversation_rate)(
                    conversation=self.conversation, stars=frame.get("stars"), comment=frame.get("comment", "")
                )
            else:
                raise services.InvalidInput(
                    "invalid", "'type' must be one of: message, resume, stop, feedback, rate, handoff."
                )
        except services.InvalidInput as exc:
            client_id = frame.get("client_id")
            await self._error(exc.code, exc.detail, client_id if isinstance(client_id, str) else None)
        except Exception:
            logger.exception("websocket frame failed for conversation %s", self.conversation.id)
            await self._error("server_error", "Something went wrong on our side; please retry.")

    async def _on_message(self, frame: dict[str, Any]) -> None:
        text = services.check_customer_text(frame.get("text"))
        client_id = services.check_client_id(frame.get("client_id"))
        try:
            # One database hop: the resend check, the rate limits and the store.
            result = await database_sync_to_async(services.customer_message_receive)(
                conversation=self.conversation,
                text=text,
                client_id=client_id,
                address=(self.scope.get("client") or [""])[0] or "",
            )
        except ratelimit.RateLimited as exc:
            await self._send(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "detail": f"Too many messages; please wait {exc.retry_after} seconds.",
                    "retry_after": exc.retry_after,
                    "client_id": str(client_id),
                }
            )
            return
        ack: dict[str, Any] = {
            "type": "ack",
            "client_id": str(client_id),
            "message": message_payload(result.message),
        }
        if result.reply is not None:
            ack["reply_id"] = str(result.reply.id)  # extension: the reply to wait for
            self.replies.expect(ack["reply_id"])
        await self._send(ack)

    async def _on_resume(self, frame: dict[str, Any]) -> None:
        after = services.check_seq(frame.get("after", 0))
        messages = await database_sync_to_async(services.messages_after)(conversation=self.conversation, after=after)
        for message in messages:
            if message.role == Message.Role.ASSISTANT:
                if message.status in streaming.FINAL_STATUSES:
                    self.replies.finished(str(message.id))
                else:  # replayed with its text so far: live deltas go on from there
                    self.replies.expect(str(message.id), have=len(message.text))
            await self._send({"type": "message", "message": message_payload(message)})

    async def _read_replies(self, reply_ids: list[str]) -> dict[str, StoredReply]:
        return await stored_replies.read(str(self.conversation.id), reply_ids)

    # --- channel-layer events ------------------------------------------------------------------
    async def conversation_message(self, event: MessageEvent) -> None:
        message = event["message"]
        if message["role"] == Message.Role.CUSTOMER:
            # The customer's own messages reach them as ``ack``; a reply asked for from
            # another socket (a second tab) is awaited here too.
            if "reply_id" in event:
                self.replies.expect(event["reply_id"])
            return
        frame: dict[str, Any] = {"type": "message", "message": message}
        if "reply_id" in event:  # a hand-back notice: the bot now answers what nobody did
            self.replies.expect(event["reply_id"])
            frame["reply_id"] = event["reply_id"]
        await self.replies.message(frame, message)

    async def conversation_typing(self, event: TypingEvent) -> None:
        frame: TypingFrame = {"type": "typing", "role": event["role"], "name": event["name"], "active": event["active"]}
        await self._send(dict(frame))

    async def conversation_delta(self, event: DeltaEvent) -> None:
        await self.replies.delta(event)

    async def _error(self, code: str, detail: str, client_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if client_id:
            frame["client_id"] = client_id[:64]  # extension: which message was refused
        await self._send(frame)

    async def _send(self, frame: dict[str, Any]) -> None:
        if hasattr(self, "replies"):
            await self.replies.send(frame)
        else:
            await self._send_now(frame)

    async def _send_now(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, ensure_ascii=False))
