"""Reply leases: a lapsed lease lets another worker take a reply over, which goes on after
what the customer was shown, and the worker that lost it can no longer write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conversations import selectors, services, shown
from conversations.models import Message
from tests import factories

pytestmark = pytest.mark.django_db


def _claimed_reply(django_capture_on_commit_callbacks: Any, owner: str = "w1") -> Message:
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv, "Where do you ship to?").reply
    assert reply is not None
    claimed = services.reply_claim(message_id=str(reply.id), owner=owner)
    assert claimed is not None and claimed.lease_owner == owner
    return claimed


def _lapse(reply: Message) -> None:
    Message.objects.filter(id=reply.id).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        updated_at=timezone.now() - timedelta(minutes=1),
    )


def test_a_held_reply_is_not_taken_over(django_capture_on_commit_callbacks: Any) -> None:
    reply = _claimed_reply(django_capture_on_commit_callbacks)
    assert services.reply_claim(message_id=str(reply.id), owner="w2") is None
    assert selectors.replies_stuck(pending_after_s=60) == []


def test_a_lapsed_lease_is_swept_and_taken_over_after_what_was_shown(
    django_capture_on_commit_callbacks: Any,
) -> None:
    reply = _claimed_reply(django_capture_on_commit_callbacks)
    lease = services.ReplyLease(message_id=str(reply.id), owner="w1")
    sent: list[str] = []
    forward = lease.forward_to(sent.append)
    for piece in (" We ship", " to the US", " and Canada"):
        forward(piece)
    services.reply_progress(message_id=str(reply.id), text="We ship")  # saved a second earlier
    _lapse(reply)
    assert selectors.replies_stuck(pending_after_s=60) == [(str(reply.id), 1)]
    taken = services.reply_claim(message_id=str(reply.id), owner="w2")
    assert taken is not None and taken.attempts == 2
    # The record (written before each piece went out) knows more than the saved text.
    assert taken.text == "We ship to the US and Canada" == "".join(sent)
    # The worker that lost it can no longer renew or write.
    assert services.reply_leases_renew([(str(reply.id), "w1")]) == set()
    with services.reply_lease_bound(lease):
        services.reply_progress(message_id=str(reply.id), text="We ship to Mars")
        with django_capture_on_commit_callbacks(execute=False):
            assert services.reply_complete(message_id=str(reply.id), text="We ship to Mars", meta={}) is None
    assert services.reply_leases_renew([(str(reply.id), "w2")]) == {str(reply.id)}
    new_lease = services.ReplyLease(message_id=str(reply.id), owner="w2", shown=taken.text)
    with services.reply_lease_bound(new_lease), django_capture_on_commit_callbacks(execute=False):
        done = services.reply_complete(
            message_id=str(reply.id), text="We ship to the US and Canada within 5 days.", meta={}
        )
    assert done is not None and done.text == "We ship to the US and Canada within 5 days."


def test_a_lost_lease_stops_the_stream() -> None:
    lease = services.ReplyLease(message_id="m", owner="w1", lost=True)
    with pytest.raises(services.ReplyLeaseLost):
        lease.forward_to(lambda _: None)("more")


def test_the_customer_never_sees_text_twice_or_taken_back() -> None:
    def stream(shown_text: str, pieces: list[str]) -> str:
        sent: list[str] = []
        continuation = shown.Continuation(shown_text, sent.append)
        for piece in pieces:
            continuation(piece)
        return shown_text + "".join(sent)

    # The new answer repeats what was shown and goes on: only the rest goes out.
    assert stream("We ship to", ["We", " ship", " to the", " US."]) == "We ship to the US."
    assert shown.continued("We ship to", "We ship to the US.") == "We ship to the US."
    # It says something else: it follows what was shown, which stays.
    assert stream("We ship to", ["Returns", " are free."]) == "We ship to… Returns are free."
    assert shown.continued("We ship to", "Returns are free.") == "We ship to… Returns are free."
    assert shown.continued("We ship.", "Returns are free.") == "We ship. Returns are free."
    # It stops short of what was shown: what was shown is the reply.
    assert stream("We ship to the US.", ["We ship"]) == "We ship to the US."
    assert shown.continued("We ship to the US. ", "We ship") == "We ship to the US."
    # A fresh reply: every piece, its leading space trimmed as the reply's text is.
    assert stream("", [" Hello", " there"]) == "Hello there"


def test_a_failed_reply_keeps_what_was_shown(django_capture_on_commit_callbacks: Any) -> None:
    reply = _claimed_reply(django_capture_on_commit_callbacks)
    services.reply_progress(message_id=str(reply.id), text="We ship to")
    with django_capture_on_commit_callbacks(execute=False):
        failed = services.reply_fail(message_id=str(reply.id), error="gave up")
    assert failed is not None and failed.text.startswith("We ship to… ") and "team will take over" in failed.text


def test_a_released_reply_keeps_its_text_for_the_retry(django_capture_on_commit_callbacks: Any) -> None:
    reply = _claimed_reply(django_capture_on_commit_callbacks)
    services.reply_progress(message_id=str(reply.id), text="We ship to")
    services.reply_release(message_id=str(reply.id), error="engine restarted")
    retry = services.reply_claim(message_id=str(reply.id), owner="w1-retry")
    assert retry is not None and retry.text == "We ship to" and retry.attempts == 2


def test_a_pending_reply_is_requeued_sooner_when_no_task_is_waiting(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.REPLY_SWEEP_SECONDS, settings.REPLY_REQUEUE_SECONDS = 5, 60
    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv).reply
    assert reply is not None
    Message.objects.filter(id=reply.id).update(updated_at=timezone.now() - timedelta(seconds=15))
    requeued: list[str] = []
    monkeypatch.setattr("conversations.dispatch.reply_generate", requeued.append)
    monkeypatch.setattr("conversations.dispatch.tasks_waiting", lambda: 3)
    assert services.replies_sweep() == 0  # tasks are queued: its own may be among them
    monkeypatch.setattr("conversations.dispatch.tasks_waiting", lambda: 0)
    assert services.replies_sweep() == 1 and requeued == [str(reply.id)]  # none is: it lost its task
