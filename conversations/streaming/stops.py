"""Stop requests: the customer pressed "stop", or a newer message superseded the reply. The
flag lives in Redis, where the worker generating the reply looks for it between pieces."""

from __future__ import annotations

from conversations.redis_client import key, redis_client

STOP_TTL_S = 600


def _stop_key(message_id: str) -> str:
    return key("stop", message_id)


def request_stop(message_id: str) -> None:
    redis_client().set(_stop_key(message_id), 1, ex=STOP_TTL_S)


def stop_requested(message_id: str) -> bool:
    return bool(redis_client().exists(_stop_key(message_id)))
