"""Celery tasks: thin, idempotent, id in, nothing out.

``conversations`` enqueues them by name (conversations/dispatch.py): the names here are the
contract between the web side and the workers.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.db import DatabaseError

from conversations import selectors, services, streaming
from conversations.models import Message
from conversations.redaction import redact
from generation import (
    leases,
    worker,  # noqa: F401 - connects the worker's lifecycle signals
)
from generation.answering.drafts import draft_replies
from generation.answering.policy import prefetch_query, responder_for_worker
from generation.answering.prompt import Turn
from generation.engine import GenerationError
from generation.replying import reply_generate

logger = logging.getLogger(__name__)

MAX_RETRIES = 2


@shared_task(
    name="generation.tasks.generate_reply",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def generate_reply(self, message_id: str) -> None:  # type: ignore[no-untyped-def]
    """Generate the assistant reply ``message_id``.

    Idempotent: a reply that is complete, failed, or being generated elsewhere is left alone.
    The worker holds a lease on it while it streams (generation/leases.py); a reply whose
    worker's lease lapsed is taken over and goes on after what its customer was shown.
    A retryable failure puts it back to pending and retries; the last failure marks it
    failed, tells the customer, and flags the conversation for a human.
    """
    _prefetch(message_id)
    reply = services.reply_claim(message_id=message_id, owner=f"{self.request.hostname}:{uuid.uuid4().hex[:12]}")
    if reply is None:
        return
    with leases.lease_held(reply) as lease:
        _generate(self, reply, lease)


def _generate(task, reply: Message, lease: services.ReplyLease) -> None:  # type: ignore[no-untyped-def]
    message_id = str(reply.id)
    try:
        if lease.shown and streaming.stop_requested(message_id):
            # Taken over after the customer asked to stop: it ends with what they were shown.
            services.reply_complete(message_id=message_id, text=lease.shown.strip(), meta={"model_name": "stopped"})
            return
        reply_generate(reply, lease=lease)
    except services.ReplyLeaseLost:
        logger.warning("reply %s: lease lost mid-reply; the worker that took it over finishes it", message_id)
    except (GenerationError, DatabaseError) as exc:
        retryable = isinstance(exc, DatabaseError) or exc.retryable
        logger.warning("reply %s failed (retryable=%s): %s", message_id, retryable, exc)
        if retryable and task.request.retries < MAX_RETRIES:
            services.reply_release(message_id=message_id, error=str(exc))
            raise task.retry(countdown=2**task.request.retries) from exc
        services.reply_fail(message_id=message_id, error=str(exc))
    except Exception as exc:
        logger.exception("reply %s failed", message_id)
        services.reply_fail(message_id=message_id, error=f"{exc.__class__.__name__}: {exc}")


def _prefetch(message_id: str) -> None:
    """Start embedding the question while the reply is claimed and its history read (the
    embedding is on the first token's path; see ``prefetch_query``). Never fails the task."""
    try:
        question = selectors.pending_reply_question(message_id)
        if question:
            prefetch_query(redact(question))  # what the model will see of it
    except Exception:
        logger.warning("could not prefetch the question of reply %s", message_id, exc_info=True)


@shared_task(name="generation.tasks.suggest_replies", acks_late=True, ignore_result=True)
def suggest_replies(conversation_id: str) -> None:
    """Drafts of an answer to the customer's latest question from the knowledge base, for
    staff to edit and send (generation/answering/drafts.py); an empty list when it has none,
    so the console can say so."""
    history = [Turn(role, redact(text)) for role, text in selectors.conversation_turns(conversation_id)]
    suggestions = draft_replies(responder_for_worker(), history) if history else []
    streaming.publish_staff(
        conversation_id, {"type": "staff.suggestions", "conversation_id": conversation_id, "suggestions": suggestions}
    )
