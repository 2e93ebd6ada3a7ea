"""``/metrics``: counters that count events and never go down, gauges for the current state,
histograms fed by observations; promtool accepts it; a token or an allowlist guards it."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from conversations import counters, services
from conversations.models import Conversation
from tests import factories

pytestmark = pytest.mark.django_db


def scrape(client: Client | None = None, **headers: str) -> dict[str, float]:
    """Every sample of ``/metrics`` by name and labels."""
    body = (client or Client()).get("/metrics", headers=headers).content.decode()
    samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def increase(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


def test_reply_events_are_counted_and_observed_when_they_happen(django_capture_on_commit_callbacks: Any) -> None:
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        conv, _ = factories.conversation()
        done = factories.customer_message(conv, "Hello").reply
        assert done is not None and services.reply_claim(message_id=str(done.id)) is not None
        meta: services.ReplyMeta = {
            "completion_tokens": 17,
            "prompt_tokens": 40,
            "first_token_ms": 80,
            "first_delta_ms": 240,
            "generation_ms": 400,
            "handoff": False,
        }
        services.reply_complete(message_id=str(done.id), text="Hi!", meta=meta)
        failed = factories.customer_message(conv, "And?").reply
        assert failed is not None and services.reply_claim(message_id=str(failed.id)) is not None
        services.reply_fail(message_id=str(failed.id), error="boom")
    after = scrape()
    assert increase(before, after, "parley_conversations_started_total{}") == 1
    assert increase(before, after, "parley_customer_messages_total{}") == 2
    assert increase(before, after, "parley_replies_total{status=complete}") == 1
    assert increase(before, after, "parley_replies_total{status=failed}") == 1
    assert increase(before, after, "parley_generation_attempts_total{}") == 2
    assert increase(before, after, "parley_generation_tokens_total{}") == 17
    assert increase(before, after, "parley_prompt_tokens_total{}") == 40
    assert increase(before, after, "parley_handoffs_total{}") == 1
    assert increase(before, after, "parley_generation_time_to_first_token_seconds_bucket{le=0.1}") == 1
    assert increase(before, after, "parley_first_delta_seconds_bucket{le=0.1}") == 0
    assert increase(before, after, "parley_first_delta_seconds_bucket{le=0.25}") == 1
    assert increase(before, after, "parley_reply_seconds_count{}") == 1
    assert increase(before, after, "parley_reply_seconds_sum{}") == pytest.approx(0.4)
    for gauge in ("parley_generation_queue_depth{}", "parley_workers{}", "parley_replies_in_flight{}"):
        assert gauge in after


def test_a_transaction_sends_its_figures_in_one_round_trip_and_a_rolled_back_savepoint_none(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[list[tuple[str, str, float]]] = []
    real = counters._send

    def spy(updates: list[tuple[str, str, float]]) -> None:
        sent.append(list(updates))
        real(updates)

    monkeypatch.setattr(counters, "_send", spy)
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        counters.count("parley_handoffs")
        counters.observe("parley_reply_seconds", 0.3)
        with pytest.raises(RuntimeError), transaction.atomic():
            counters.count("parley_reply_takeovers")
            raise RuntimeError
        counters.count("parley_handoffs")
    after = scrape()
    assert len(sent) == 1
    assert increase(before, after, "parley_handoffs_total{}") == 2
    assert increase(before, after, "parley_reply_takeovers_total{}") == 0
    assert increase(before, after, "parley_reply_seconds_count{}") == 1


def test_no_counter_decreases_across_a_vote_change_and_a_purge(django_capture_on_commit_callbacks: Any) -> None:
    """The issue's case: a thumbs vote and a rating changed, then the conversation purged."""
    scrapes = [scrape()]
    with django_capture_on_commit_callbacks(execute=True):
        conv, _ = factories.conversation()
        reply = factories.bot_reply(conv, 2)
        services.message_feedback(conversation=conv, message_id=str(reply.id), value=1)
        services.conversation_rate(conversation=conv, stars=4)
    scrapes.append(scrape())
    with django_capture_on_commit_callbacks(execute=True):
        services.message_feedback(conversation=conv, message_id=str(reply.id), value=-1)
        services.message_feedback(conversation=conv, message_id=str(reply.id), value=-1)  # the same vote again
        services.conversation_rate(conversation=conv, stars=2)
    scrapes.append(scrape())
    Conversation.objects.filter(pk=conv.pk).update(updated_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.conversations_purge(older_than_days=30, actor="system") >= 1
    scrapes.append(scrape())
    for earlier, later in itertools.pairwise(scrapes):
        for name, value in earlier.items():
            if "_total{" in name or "_bucket{" in name or "_count{" in name:
                assert later.get(name, 0.0) >= value, name
    first, voted, changed, purged = scrapes
    assert increase(first, voted, "parley_feedback_total{value=up}") == 1
    assert increase(voted, changed, "parley_feedback_total{value=down}") == 1
    assert increase(first, changed, "parley_conversation_ratings_total{}") == 2
    assert increase(first, changed, "parley_conversation_rating_stars_total{}") == 6
    assert increase(changed, purged, "parley_conversations_purged_total{}") >= 1
    # What is stored now is a gauge, and that one may go down.
    assert increase(voted, changed, "parley_replies_with_feedback{value=up}") == -1


def test_promtool_accepts_the_metrics(django_capture_on_commit_callbacks: Any) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("PROMTOOL MISSING: `apt-get install -y prometheus` to check /metrics with `promtool check metrics`")
    with django_capture_on_commit_callbacks(execute=True):
        conv, _ = factories.conversation()
        reply = factories.bot_reply(conv, 2)
        services.message_feedback(conversation=conv, message_id=str(reply.id), value=1)
    body = Client().get("/metrics").content
    checked = subprocess.run([promtool, "check", "metrics"], check=False, input=body, capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_metrics_need_the_token_or_an_allowed_address_when_either_is_set(settings: Any) -> None:
    assert Client().get("/metrics").status_code == 200  # neither set: open
    settings.METRICS_TOKEN = "s3cret"
    refused = Client().get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == "Bearer"
    assert Client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert Client().get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "::1"]
    assert Client().get("/metrics").status_code == 403  # the test client is 127.0.0.1
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    settings.METRICS_TOKEN = "s3cret"
    assert Client().get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
