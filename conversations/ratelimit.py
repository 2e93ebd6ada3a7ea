"""Rate limits on Redis fixed windows: per conversation and per client address.

``hit`` counts one event and says how long to wait when the limit is passed. If Redis is
unreachable the limiter lets traffic through (logged): refusing every customer because the
limiter is down would be worse than a burst.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from conversations.redis_client import key, redis_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    window_s: int


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited; retry after {retry_after}s")
        self.retry_after = retry_after


def limits() -> dict[str, Limit]:
    return {
        "conversation_messages": Limit("cm", settings.RATE_LIMIT_MESSAGES_PER_CONVERSATION, 60),
        "address_messages": Limit("am", settings.RATE_LIMIT_MESSAGES_PER_ADDRESS, 60),
        "address_conversations": Limit("ac", settings.RATE_LIMIT_CONVERSATIONS_PER_ADDRESS, 3600),
    }


def hit(kind: str, subject: str) -> None:
    """Count one event for ``subject``; raises ``RateLimited`` past the limit (0 = no limit)."""
    limit = limits()[kind]
    if limit.count <= 0:
        return
    window = int(time.time()) // limit.window_s
    redis_key = key("rl", limit.name, subject, str(window))
    try:
        pipe = redis_client().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, limit.window_s + 1)
        count = int(pipe.execute()[0])
    except Exception:
        logger.warning("rate limiter unavailable; letting traffic through", exc_info=True)
        return
    if count > limit.count:
        raise RateLimited(retry_after=limit.window_s - int(time.time()) % limit.window_s)


def check_message(*, conversation_id: str, address: str) -> None:
    hit("conversation_messages", conversation_id)
    if address:
        hit("address_messages", address)
