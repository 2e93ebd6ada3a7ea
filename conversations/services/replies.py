"""The bot's replies: enqueued with the customer message that asks for them, claimed and
written by the generation task, superseded by a newer message or a takeover, and swept up
when their task was lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from conversations import dispatch, selectors, streaming
from conversations.models import Conversation, Message
from conversations.services.common import publish_on_commit

FAILED_REPLY_TEXT = (
    "Sorry, I couldn't answer that just now. A member of our team will take over this conversation and reply here."
)
# A reply whose task was lost this many times fails (the customer is told, a person takes over).
SWEEP_MAX_ATTEMPTS = 3


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


def reply_enqueue_on_commit(reply: Message) -> None:
    """Start ``reply``'s generation task once the caller's transaction commits."""
    reply_id = str(reply.id)
    # robust: if the broker is down the reply stays pending and the sweep re-enqueues it.
    transaction.on_commit(lambda: dispatch.reply_generate(reply_id), robust=True)


def replies_supersede(conversation: Conversation) -> list[str]:
    """Drop replies not started yet; ask streaming ones to stop (they keep their text).
    Runs inside the caller's transaction; returns the ids asked to stop."""
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
        return replies_supersede(conversation)


# --- written by the generation task ---------------------------------------------------------------
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
    Message.objects.filter(id=message_id, status=Message.Status.STREAMING).update(text=text, updated_at=timezone.now())


def reply_complete(*, message_id: str, text: str, meta: ReplyMeta) -> Message | None:
    """Store the final text; ``None`` if the reply is no longer streaming (e.g. cancelled).

    Every write of a reply's text moves its ``updated_at`` on: a socket's catch-up tells a
    final event that is lost from one that is merely on its way by how long ago it was stored.
    """
    with transaction.atomic():
        updated = Message.objects.filter(id=message_id, status=Message.Status.STREAMING).update(
            text=text, status=Message.Status.COMPLETE, error="", updated_at=timezone.now(), **meta
        )
        if not updated:
            return None
        message = Message.objects.get(id=message_id)
        if meta.get("handoff"):
            Conversation.objects.filter(pk=message.conversation_id, status=Conversation.Status.BOT).update(
                status=Conversation.Status.NEEDS_HUMAN
            )
        publish_on_commit(message)
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
            updated_at=timezone.now(),
        )
        if not updated:
            return None
        message = Message.objects.get(id=message_id)
        Conversation.objects.filter(
            pk=message.conversation_id,
            status__in=[Conversation.Status.BOT, Conversation.Status.NEEDS_HUMAN],
        ).update(status=Conversation.Status.NEEDS_HUMAN)
        publish_on_commit(message)
    return message


# --- lost tasks ---------------------------------------------------------------------------------------
def reply_requeue(*, message_id: str) -> None:
    """Enqueue the task of a reply whose task was lost (broker down at enqueue, worker killed);
    its ``updated_at`` moves on, so the next sweep leaves it alone for a while."""
    Message.objects.filter(id=message_id).update(updated_at=timezone.now())
    dispatch.reply_generate(message_id)


def replies_sweep() -> int:
    """Re-enqueue the replies no task will finish (see ``selectors.replies_stuck``), or fail
    those lost ``SWEEP_MAX_ATTEMPTS`` times; returns how many were touched."""
    stuck = selectors.replies_stuck()
    for message_id, attempts in stuck:
        if attempts >= SWEEP_MAX_ATTEMPTS:
            reply_fail(message_id=message_id, error="gave up after repeated lost tasks")
        else:
            reply_requeue(message_id=message_id)
    return len(stuck)
