"""What a reply's customer may have been shown, kept so that a worker taking the reply over
goes on after it: deltas only append, and the final text starts with everything streamed.

The worker generating a reply writes each piece here (Redis) *before* it can reach the
customer, so the record is never behind what was shown; the reply row's text (saved every
second) is the fallback when Redis lost the record. ``Continuation`` is the rule a worker
taking over follows while it streams, ``continued`` the same rule for the final text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
from django.conf import settings

from conversations.redis_client import key, redis_client

logger = logging.getLogger(__name__)

# A record outlives any reply's generation; it is deleted when the reply ends.
RECORD_TTL_S = 3600
_SENTENCE_END = (".", "!", "?", ":", "…")


def _record_key(message_id: str) -> str:
    return key("shown", message_id)


def record_append(message_id: str, text: str) -> bool:
    """Add ``text`` to the record of ``message_id``; ``False`` when Redis refused it (the
    caller then stops recording, so that the record stays a true prefix)."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.append(_record_key(message_id), text)
        pipe.expire(_record_key(message_id), max(RECORD_TTL_S, int(3 * settings.GENERATION_TIMEOUT)))
        pipe.execute()
        return True
    except redis.RedisError:
        logger.warning("could not record the text shown for reply %s", message_id, exc_info=True)
        return False


def record_discard(message_id: str) -> None:
    """Forget the record of ``message_id`` (or stop trusting it); best effort."""
    try:
        redis_client().delete(_record_key(message_id))
    except redis.RedisError:
        logger.warning("could not delete the record of reply %s", message_id, exc_info=True)


def shown_text(message_id: str, stored: str) -> str:
    """What the customer of ``message_id`` may have been shown: the record, or ``stored`` (the
    text saved on the reply row) when the record is missing, shorter, or does not agree."""
    try:
        raw = redis_client().get(_record_key(message_id))
    except redis.RedisError:
        logger.warning("could not read the record of reply %s", message_id, exc_info=True)
        raw = None
    recorded = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
    return recorded if recorded.startswith(stored) else stored


def _joined(shown: str, text: str) -> str:
    """``shown`` followed by ``text``, a reply that does not go on from it: an ellipsis where
    ``shown`` stopped mid-sentence, so the customer reads it as a fresh start."""
    if not shown.rstrip().endswith(_SENTENCE_END):
        return shown + "… " + text
    return shown + ("" if shown[-1:].isspace() else " ") + text


def continued(shown: str, text: str) -> str:
    """The final text of a reply whose customer was shown ``shown`` and whose (new) answer is
    ``text``: it starts with ``shown`` whatever ``text`` is."""
    if not shown.strip():
        return text
    if text.startswith(shown):
        return text
    if shown.startswith(text):
        return shown.rstrip()  # the new answer is what was shown, or less of it
    return _joined(shown, text)


class Continuation:
    """Lets through, piece by piece, what a reply adds to ``shown``: a worker that takes a
    reply over answers again from the start, and the customer already has ``shown``.

    While the new answer repeats ``shown`` nothing goes out; once it goes past it, only the
    rest does; if it says something else, it goes out whole after ``shown`` (see
    ``continued``, which makes the same choice for the final text). Without ``shown``, every
    piece goes out as it is. ``send`` gets the text to append to what the customer has.
    """

    def __init__(self, shown: str, send: Callable[[str], None]) -> None:
        self.shown = shown
        self.send = send
        self.generated = ""
        self.through = not shown.strip()
        self.started = bool(shown)

    def __call__(self, piece: str) -> None:
        if not piece:
            return
        if self.through:
            if not self.started:
                piece = piece.lstrip()  # as the reply's text starts (generation/replying.py)
                if not piece:
                    return
                self.started = True
            self.send(piece)
            return
        self.generated += piece
        self.generated = self.generated.lstrip()
        shown = self.shown
        if shown.startswith(self.generated):
            return
        self.through = True
        if self.generated.startswith(shown):
            rest = self.generated[len(shown) :]
        else:
            rest = _joined(shown, self.generated)[len(shown) :]
        if rest:
            self.send(rest)
