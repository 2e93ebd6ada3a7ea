"""One reply, end to end: history -> prompt -> engine -> coalesced deltas -> stored message."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils import timezone

from conversations import services, streaming
from conversations.models import Message
from generation import prompt as prompts
from generation import runtime
from generation.engine import SamplingParams

logger = logging.getLogger(__name__)

PROGRESS_SAVE_S = 1.0
NOT_READY_TEXT = (
    "I'm still getting ready to answer questions here. A member of our team will take over "
    "this conversation and reply shortly."
)
EMPTY_TEXT = "I'm not sure how to answer that. A member of our team will take over and reply here."


def history_for(reply: Message) -> list[prompts.Turn]:
    """The finished turns before ``reply``: what the model sees of the conversation."""
    rows = (
        Message.objects.filter(conversation_id=reply.conversation_id, seq__lt=reply.seq)
        .exclude(role=Message.Role.SYSTEM)
        .filter(status=Message.Status.COMPLETE)
        .order_by("seq")
        .values_list("role", "text")
    )
    return [prompts.Turn(role=role, text=text) for role, text in rows if text]


def sampling_params(stop: tuple[str, ...]) -> SamplingParams:
    return SamplingParams(
        max_new_tokens=settings.GENERATION_MAX_NEW_TOKENS,
        temperature=settings.GENERATION_TEMPERATURE,
        top_p=settings.GENERATION_TOP_P,
        no_repeat_ngram_size=settings.GENERATION_NO_REPEAT_NGRAM,
        stop=stop,
        timeout_s=settings.GENERATION_TIMEOUT,
    )


def reply_generate(reply: Message) -> Message | None:
    """Generate and store ``reply`` (already claimed). Raises ``GenerationError``."""
    started = time.monotonic()
    queued_ms = int((timezone.now() - reply.created_at).total_seconds() * 1000)
    history = history_for(reply)
    try:
        engine = runtime.get_engine()
    except runtime.ModelUnavailable:
        return _store_direct(reply, NOT_READY_TEXT, handoff=True, queued_ms=queued_ms)
    built = prompts.build_prompt(
        tokenizer=engine.tokenizer,
        context_window=engine.context_window,
        max_new_tokens=settings.GENERATION_MAX_NEW_TOKENS,
        system=prompts.instructions(settings.COMPANY_NAME),
        snippets=[],
        history=history,
    )
    stream = engine.submit(built.ids, sampling_params(built.stop))
    coalescer = streaming.DeltaCoalescer(settings.STREAM_COALESCE_MS / 1000)
    conversation_id, message_id = reply.conversation_id, str(reply.id)
    last_save = time.monotonic()
    for piece in stream:
        _send(conversation_id, message_id, coalescer.add(piece))
        if time.monotonic() - last_save >= PROGRESS_SAVE_S:
            services.reply_progress(message_id=message_id, text=stream.text)
            last_save = time.monotonic()
    _send(conversation_id, message_id, coalescer.flush())
    text = stream.text.strip()
    stats = stream.stats
    meta: services.ReplyMeta = {
        "model_name": engine.name[-300:],
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "queued_ms": queued_ms,
        "generation_ms": int((time.monotonic() - started) * 1000),
        "grounded": False,
        "handoff": False,
        "sources": [],
    }
    if stats.first_token_at is not None:
        meta["first_token_ms"] = int((stats.first_token_at - stats.submitted_at) * 1000)
    if not text:
        text, meta["handoff"] = EMPTY_TEXT, True
    return services.reply_complete(message_id=message_id, text=text, meta=meta)


def _store_direct(reply: Message, text: str, *, handoff: bool, queued_ms: int) -> Message | None:
    return services.reply_complete(
        message_id=str(reply.id),
        text=text,
        meta={"handoff": handoff, "queued_ms": queued_ms, "model_name": "", "grounded": False},
    )


def _send(conversation_id: object, message_id: str, delta: tuple[str, int] | None) -> None:
    if delta is None:
        return
    text, offset = delta
    try:
        streaming.publish_delta(str(conversation_id), message_id, text, offset)
    except Exception:  # the final message is stored and sent regardless
        logger.warning("could not publish a delta of %s", message_id, exc_info=True)
