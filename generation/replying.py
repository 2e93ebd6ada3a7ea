"""One reply, end to end: history -> responder (retrieval, prompt, engine) -> coalesced deltas
-> stored message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from conversations import selectors, services, streaming
from conversations.models import Message
from conversations.redaction import redact
from generation.answering.policy import Responder, responder_for_worker
from generation.answering.prompt import Turn
from generation.answering.writing import Answer

logger = logging.getLogger(__name__)

PROGRESS_SAVE_S = 1.0


def history_for(reply: Message) -> tuple[list[Turn], str]:
    """The finished turns before ``reply``, personal data redacted (what the model sees of the
    conversation), and the last customer message as it was written (where the answering policy
    looks for record numbers that redaction would mask)."""
    rows = selectors.conversation_turns(reply.conversation_id, before_seq=reply.seq)
    raw = next((text for role, text in reversed(rows) if role == Message.Role.CUSTOMER), "")
    return [Turn(role=role, text=redact(text)) for role, text in rows], raw


class _Publisher:
    """Coalesces streamed text into delta events and saves progress for late joiners."""

    def __init__(self, reply: Message, record: Callable[[str], None] | None = None) -> None:
        # ``record`` gets each delta's text before it is published (``ReplyLease.record``).
        self.record = record
        self.conversation_id = str(reply.conversation_id)
        self.message_id = str(reply.id)
        self.coalescer = streaming.DeltaCoalescer(settings.STREAM_COALESCE_MS / 1000)
        # A reply taken over from a lost worker goes on after the text its customer was shown.
        self.text = reply.text
        self.coalescer.offset = len(reply.text)
        self.last_save = time.monotonic()
        self.first_sent_at: datetime | None = None  # when the first delta went out

    def __call__(self, piece: str) -> None:
        if not piece:
            return
        if not self.text:
            piece = piece.lstrip()
        self.text += piece
        self._send(self.coalescer.add(piece))
        if time.monotonic() - self.last_save >= PROGRESS_SAVE_S:
            services.reply_progress(message_id=self.message_id, text=self.text)
            self.last_save = time.monotonic()

    def flush(self) -> None:
        self._send(self.coalescer.flush())

    def _send(self, delta: tuple[str, int] | None) -> None:
        if delta is None:
            return
        text, offset = delta
        if self.record is not None:
            self.record(text)
        try:
            streaming.publish_delta(self.conversation_id, self.message_id, text, offset)
            if self.first_sent_at is None:
                self.first_sent_at = timezone.now()
        except Exception:  # the final message is stored and sent regardless
            logger.warning("could not publish a delta of %s", self.message_id, exc_info=True)


class _StopCheck:
    """Asks Redis whether this reply should stop, at most every 100 ms."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.checked = 0.0
        self.stop = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.stop and now - self.checked >= 0.1:
            self.checked = now
            try:
                self.stop = streaming.stop_requested(self.message_id)
            except Exception:  # Redis away: keep generating
                logger.warning("could not check for a stop request", exc_info=True)
        return self.stop


def reply_generate(reply: Message, *, lease: services.ReplyLease | None = None) -> Message | None:
    """Answer and store ``reply`` (already claimed). Raises ``GenerationError``.

    ``lease``: the worker's hold on the reply (generation/leases.py). It sees each piece before
    the customer does, and raises ``ReplyLeaseLost`` once the reply is no longer this worker's.
    """
    started = time.monotonic()
    queued_ms = int((timezone.now() - reply.created_at).total_seconds() * 1000)
    publisher = _Publisher(reply, record=lease.record if lease is not None else None)
    forward = publisher if lease is None else lease.forward_to(publisher, record=False)
    responder = responder_for_worker()
    history, raw_question = history_for(reply)
    answer = responder.answer(
        history, forward=forward, should_stop=_StopCheck(str(reply.id)), raw_question=raw_question
    )
    publisher.flush()
    meta = _meta(answer, responder, started, queued_ms)
    if publisher.first_sent_at is not None:
        meta["first_delta_ms"] = max(0, int((publisher.first_sent_at - reply.created_at).total_seconds() * 1000))
    return services.reply_complete(message_id=str(reply.id), text=answer.text.strip(), meta=meta)


def _meta(answer: Answer, responder: Responder, started: float, queued_ms: int) -> services.ReplyMeta:
    engine = responder.engine
    meta: services.ReplyMeta = {
        "mode": answer.mode,
        "model_name": (engine.name[-300:] if engine is not None and answer.stats else ""),
        "queued_ms": queued_ms,
        "generation_ms": int((time.monotonic() - started) * 1000),
        "grounded": answer.grounded,
        "handoff": answer.handoff,
        "sources": answer.sources,
    }
    stats = answer.stats
    if stats is not None:
        meta["prompt_tokens"] = stats.prompt_tokens
        meta["completion_tokens"] = stats.completion_tokens
        if stats.first_token_at is not None:
            meta["first_token_ms"] = int((stats.first_token_at - stats.submitted_at) * 1000)
    return meta
