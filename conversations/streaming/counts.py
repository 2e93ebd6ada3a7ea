"""How often sockets had to catch a reply up, kept in Redis so that ``/metrics`` and ``/ops/``
report every ASGI process, whichever serves them. The counts only go up (until Redis is
emptied, which Prometheus reads as a counter reset)."""

from __future__ import annotations

from typing import Final, Literal, TypedDict

from conversations.redis_client import key, redis_client

Socket = Literal["customer", "staff"]
CatchUpKind = Literal["message", "text"]
SOCKETS: Final[tuple[Socket, ...]] = ("customer", "staff")
CATCH_UP_KINDS: Final[tuple[CatchUpKind, ...]] = ("message", "text")


class DeliveryCounts(TypedDict):
    # (socket, kind) -> catch-ups: a final message the socket never got live, or stored text
    # beyond what it had streamed
    catch_ups: dict[tuple[str, str], int]
    # socket -> final messages whose live event came after their catch-up (late, not lost)
    late: dict[str, int]


def _key() -> str:
    return key("delivery")


def count_catch_up(*, socket: Socket, kind: CatchUpKind) -> None:
    redis_client().hincrby(_key(), f"catch_up:{socket}:{kind}", 1)


def count_late(*, socket: Socket) -> None:
    redis_client().hincrby(_key(), f"late:{socket}", 1)


def delivery_counts() -> DeliveryCounts:
    raw: dict[bytes, bytes] = redis_client().hgetall(_key())  # type: ignore[assignment]
    stored = {k.decode(): int(v) for k, v in raw.items()}
    return {
        "catch_ups": {(s, k): stored.get(f"catch_up:{s}:{k}", 0) for s in SOCKETS for k in CATCH_UP_KINDS},
        "late": {s: stored.get(f"late:{s}", 0) for s in SOCKETS},
    }
