"""The database work of one customer message and its reply, in-process, in milliseconds.

    REDIS_URL=redis://127.0.0.1:6379/7 DATA_DIR=var/bench .venv/bin/python bench/db_path.py [-n 200]

Times the three database paths every reply takes, with the settings' database (SQLite in
``DATA_DIR`` unless ``DATABASE_URL`` says otherwise) and Redis (counters, the Celery broker):
- the web process's: a conversation created and a customer message stored (its pending reply,
  the counters, the generation task enqueued and the inbox told, once committed);
- the worker's: the reply claimed, the history read, the reply completed (the inbox told again);
- the inbox summary of one conversation, the query both of them run on commit, as the
  compiled SQL Parley runs (``payloads.summary_query``) against the same ORM queryset built
  and compiled on each call, its baseline in the same run.
Rate limits are off for the run; the generation tasks it enqueues go to a queue no worker
reads (``GENERATION_QUEUE`` set to ``bench-unattended``), which is purged at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
for limit in ("MESSAGES_PER_CONVERSATION", "MESSAGES_PER_ADDRESS", "CONVERSATIONS_PER_ADDRESS"):
    os.environ[f"RATE_LIMIT_{limit}"] = "0"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from chatsite.celery import app  # noqa: E402
from conversations import services  # noqa: E402
from conversations.models import Conversation, Message  # noqa: E402
from conversations.payloads import conversation_summary, summary_fields, summary_query  # noqa: E402
from generation.replying import history_for  # noqa: E402

QUEUE = "bench-unattended"


def timed(calls: list[Callable[[], object]]) -> list[float]:
    """Milliseconds of each call."""
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def line(name: str, times: list[float]) -> str:
    return f"  {name:<44} p50 {statistics.median(times):6.2f} ms   mean {statistics.fmean(times):6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="messages (and replies) timed")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.GENERATION_QUEUE = QUEUE
    warm = 20
    replies: list[Message] = []

    def message() -> None:
        conversation, _ = services.conversation_create(origin="")
        result = services.customer_message_receive(
            conversation=conversation,
            text="How long does shipping to Canada take?",
            client_id=uuid.uuid4(),
            address="192.0.2.1",
        )
        assert result.reply is not None
        replies.append(result.reply)

    def reply(pending: Message) -> None:
        assert services.reply_claim(message_id=str(pending.id)) is not None
        history_for(pending)
        services.reply_complete(
            message_id=str(pending.id),
            text="Shipping to Canada takes 5 to 8 business days.",
            meta={"mode": "model", "sources": [{"title": "International shipping"}]},
        )

    stored = timed([message] * (warm + args.n))[warm:]
    answered = timed([lambda m=m: reply(m) for m in replies])[warm:]  # type: ignore[misc]
    pk = replies[-1].conversation_id

    def orm() -> object:
        row = Conversation.objects.select_related("agent", "customer").annotate(**summary_fields()).get(pk=pk)
        return conversation_summary(row)

    def compiled() -> object:
        return conversation_summary(summary_query.get(pk))

    assert orm() == compiled()
    by_orm = timed([orm] * (warm + args.n))[warm:]
    by_sql = timed([compiled] * (warm + args.n))[warm:]
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(QUEUE)
    print(f"{args.n} messages and replies, {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(line("web: conversation + customer message stored", stored))
    print(line("worker: reply claimed, history, completed", answered))
    print(line("inbox summary, the ORM queryset each call", by_orm))
    print(line("inbox summary, compiled once (Parley's)", by_sql))
    print(f"  compiled / ORM: {statistics.median(by_sql) / statistics.median(by_orm):.2f}x the time")


if __name__ == "__main__":
    main()
