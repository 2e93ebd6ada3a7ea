"""The leases of the replies a worker process generates, renewed together by one thread.

A reply's lease (``services.ReplyLease``) lasts ``REPLY_LEASE_SECONDS``; this thread renews
every lease the process holds each third of that, in one statement. When a worker is killed
its leases lapse within ``REPLY_LEASE_SECONDS``, and beat's sweep hands the replies to the
workers still up (``services.reply_claim`` takes a lapsed one over). A lease this process
could not renew in time counts as lost here before the database gives it away.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import close_old_connections

from conversations import services
from conversations.models import Message

logger = logging.getLogger(__name__)


class _Keeper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, services.ReplyLease] = {}
        self._thread: threading.Thread | None = None

    def add(self, lease: services.ReplyLease) -> None:
        with self._lock:
            self._held[lease.message_id] = lease
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="parley-leases", daemon=True)
                self._thread.start()

    def remove(self, lease: services.ReplyLease) -> None:
        with self._lock:
            if self._held.get(lease.message_id) is lease:
                del self._held[lease.message_id]

    def _run(self) -> None:
        while True:
            time.sleep(settings.REPLY_LEASE_SECONDS / 3)
            with self._lock:
                leases = list(self._held.values())
            if leases:
                self.renew(leases)

    def renew(self, leases: list[services.ReplyLease]) -> None:
        sent = time.monotonic()
        try:
            close_old_connections()
            kept = services.reply_leases_renew([(lease.message_id, lease.owner) for lease in leases])
        except Exception:  # the database away: the leases run out here before they lapse there
            logger.warning("could not renew %d reply leases", len(leases), exc_info=True)
            return
        for lease in leases:
            if lease.message_id in kept:
                lease.renewed_at = sent
            elif not lease.lost:
                # Usually the reply ended while this renewal was on its way; when another worker
                # took it over, the task says so as its next piece is refused.
                lease.lost = True
                logger.info("no longer holds the lease of reply %s", lease.message_id)


_keeper = _Keeper()


@contextlib.contextmanager
def lease_held(reply: Message) -> Iterator[services.ReplyLease]:
    """Hold the lease of ``reply``, just claimed (``services.reply_claim``), for the block:
    renewed in the background; the task's writes to the reply are fenced by it."""
    lease = services.ReplyLease(message_id=str(reply.id), owner=reply.lease_owner, shown=reply.text)
    _keeper.add(lease)
    try:
        with services.reply_lease_bound(lease):
            yield lease
    finally:
        _keeper.remove(lease)
