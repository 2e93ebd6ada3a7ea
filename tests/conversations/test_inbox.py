"""What the inbox tells an agent: who waits and since when, who has the conversation, how many
customer messages there are to read; assignment filters; time to pickup on /ops/ and /metrics;
saved replies."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from conversations import selectors, services
from conversations.models import Conversation, Customer, SavedReply
from conversations.payloads import conversation_summary
from tests import factories
from tests.conversations.test_metrics import increase, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam() -> User:
    return User.objects.create_user("sam", password="pw-123456-long", is_staff=True, first_name="Sam", last_name="Lee")


@pytest.fixture
def sam_client(sam: User) -> Client:
    client = Client()
    client.force_login(sam)
    return client


def handed_over(conv: Conversation, text: str = "Can I pay with crypto?") -> None:
    """A customer message and the bot's reply that hands the conversation to a person."""
    reply = factories.customer_message(conv, text).reply
    assert reply is not None and services.reply_claim(message_id=str(reply.id)) is not None
    services.reply_complete(
        message_id=str(reply.id), text="A member of our team will take over.", meta={"handoff": True}
    )


def summary(conv: Conversation) -> dict[str, Any]:
    return dict(next(c for c in selectors.inbox() if c["id"] == str(conv.id)))


def test_a_row_has_a_readable_label_the_assignee_and_the_customer_messages() -> None:
    conv, _ = factories.conversation()
    factories.customer_message(conv, "  Where is   my parcel? It was due on Monday and still has not come.")
    row = summary(conv)
    assert row["label"] == f"Where is my parcel? It was due on Monday and st… · {str(conv.id)[:8]}"
    assert row["customer_messages"] == 1 and row["agent"] is None and row["agent_name"] == ""
    assert row["last_activity_at"] and row["waiting_since"] is None  # the bot is answering
    empty, _ = factories.conversation()
    assert summary(empty)["label"] == f"New conversation · {str(empty.id)[:8]}"


def test_wait_starts_when_the_bot_hands_over_and_ends_when_a_person_picks_up(sam: User) -> None:
    conv, _ = factories.conversation()
    handed_over(conv)
    conv.refresh_from_db()
    assert conv.status == "needs_human" and conv.needs_human_since is not None and conv.picked_up_at is None
    row = summary(conv)
    assert row["needs_human"] and row["waiting_since"] == conv.needs_human_since.isoformat()

    services.conversation_takeover(conversation=conv, user=sam)
    conv.refresh_from_db()
    assert conv.picked_up_at is not None and conv.picked_up_at >= conv.needs_human_since
    row = summary(conv)
    assert row["agent"] == "sam" and row["agent_name"] == "Sam Lee"
    assert row["waiting_since"] is None  # the bot's handoff line was the last word
    factories.customer_message(conv, "Hello? Anyone?")
    assert summary(conv)["waiting_since"] is not None  # now the agent owes an answer
    services.agent_message_create(conversation=conv, user=sam, text="Yes, Sam here.")
    assert summary(conv)["waiting_since"] is None


def test_a_reply_picks_up_too_and_only_the_first_pickup_counts(sam: User) -> None:
    conv, _ = factories.conversation()
    handed_over(conv)
    services.agent_message_create(conversation=conv, user=sam, text="Hi, Sam here.")
    conv.refresh_from_db()
    first = conv.picked_up_at
    assert first is not None
    services.conversation_handback(conversation=conv, user=sam)
    services.conversation_takeover(conversation=conv, user=sam)
    conv.refresh_from_db()
    assert conv.picked_up_at == first


def test_inbox_filters_mine_and_unassigned(sam_client: Client, sam: User) -> None:
    other = User.objects.create_user("alex", password="pw-123456-long", is_staff=True)
    mine, _ = factories.conversation()
    theirs, _ = factories.conversation()
    nobody, _ = factories.conversation()
    services.conversation_takeover(conversation=mine, user=sam)
    services.conversation_takeover(conversation=theirs, user=other)

    def ids(assigned: str) -> set[str]:
        response = sam_client.get(f"/api/staff/conversations/?assigned={assigned}")
        assert response.status_code == 200
        return {c["id"] for c in response.json()["conversations"]}

    assert ids("mine") == {str(mine.id)}
    assert ids("unassigned") == {str(nobody.id)}
    assert ids("all") == {str(mine.id), str(theirs.id), str(nobody.id)}
    assert sam_client.get("/api/staff/conversations/?assigned=someone").status_code == 400


def test_the_longest_waiting_conversation_comes_first() -> None:
    later, _ = factories.conversation()
    earlier, _ = factories.conversation()
    for conv in (later, earlier):
        handed_over(conv)
    Conversation.objects.filter(pk=earlier.pk).update(needs_human_since=timezone.now() - timedelta(minutes=30))
    assert [c["id"] for c in selectors.inbox()][:2] == [str(earlier.id), str(later.id)]


def test_ops_and_metrics_show_who_waits_and_the_time_to_pickup(
    sam_client: Client, sam: User, django_capture_on_commit_callbacks: Any
) -> None:
    before = scrape()
    now = timezone.now()
    for minutes in (2, 4, 30):
        conv, _ = factories.conversation()
        Conversation.objects.filter(pk=conv.pk).update(
            status="needs_human", needs_human_since=now - timedelta(minutes=minutes)
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.conversation_takeover(conversation=conv, user=sam)
    waiting, _ = factories.conversation()
    Conversation.objects.filter(pk=waiting.pk).update(
        status="needs_human", needs_human_since=now - timedelta(minutes=12)
    )
    html = sam_client.get("/ops/").content.decode()
    card = html[html.index('id="waiting-for-human"') :].split("</div></div>")[0]
    assert ">1<" in card and "12 min" in card
    pickup = html[html.index('id="time-to-pickup"') :]
    assert "p50 4 min" in pickup and "p95 30 min" in pickup
    assert 'http-equiv="refresh"' not in html

    after = scrape()
    assert after["parley_conversations_needing_human{}"] == 1
    assert after["parley_time_to_pickup_p50_seconds{}"] == pytest.approx(240, abs=5)
    assert after["parley_time_to_pickup_p95_seconds{}"] == pytest.approx(1800, abs=5)
    assert after["parley_longest_wait_for_human_seconds{}"] == pytest.approx(720, abs=5)
    assert increase(before, after, "parley_pickup_seconds_count{}") == 3
    assert increase(before, after, "parley_pickup_seconds_bucket{le=300.0}") == 2


def test_ops_headline_says_idle_when_nothing_was_generated(sam_client: Client) -> None:
    html = sam_client.get("/ops/").content.decode()
    throughput = html[html.index('id="throughput"') :].split("</div></div>")[0]
    assert "idle" in throughput and "0.0 tok/s" not in throughput
    # The charts have axes with units: 0 at the bottom, "now" at the right.
    assert ">0 ms<" in html and ">now<" in html and ">−60 min<" in html


def test_saved_replies_are_listed_and_searched(sam_client: Client) -> None:
    SavedReply.objects.create(title="Refunds", text="Refunds take 5 days, {name}.")
    SavedReply.objects.create(title="Hours", text="We are open 9 to 5.")
    every = sam_client.get("/api/staff/saved-replies/").json()["saved_replies"]
    assert [r["title"] for r in every] == ["Hours", "Refunds"]
    found = sam_client.get("/api/staff/saved-replies/?q=5 days").json()["saved_replies"]
    assert [(r["title"], r["text"]) for r in found] == [("Refunds", "Refunds take 5 days, {name}.")]
    assert Client().get("/api/staff/saved-replies/").status_code == 401


def test_a_search_with_a_nul_byte_is_searched_without_it(sam_client: Client) -> None:
    SavedReply.objects.create(title="Refunds", text="Refunds take 5 days.")
    response = sam_client.get("/api/staff/saved-replies/?q=Ref%00unds")  # PostgreSQL refuses NULs
    assert response.status_code == 200
    assert [r["title"] for r in response.json()["saved_replies"]] == ["Refunds"]


def test_a_conversation_read_through_the_api_has_what_the_inbox_row_shows(sam_client: Client) -> None:
    conv, _ = factories.conversation()
    factories.customer_message(conv, "Hi")
    body = sam_client.get(f"/api/staff/conversations/{conv.id}/").json()
    fields = set(body["conversation"])
    assert {"label", "agent_name", "waiting_since", "last_activity_at", "customer_messages"} <= fields
    assert body["conversation"]["customer_messages"] == 1


def test_the_inbox_event_of_one_conversation_says_what_its_inbox_row_says(sam: User) -> None:
    """The event the console gets when one conversation changes (its SQL compiled once) and the
    inbox list agree, field by field, as the conversation goes from the bot to a person."""
    customer = Customer.objects.create(user_id="u-17", name="Ada Park", email="ada@example.com")
    conv, _ = factories.conversation(customer=customer)

    def agree() -> dict[str, Any]:
        event = dict(conversation_summary(Conversation.objects.get(pk=conv.pk)))
        assert event == summary(conv)
        return event

    assert agree()["customer_messages"] == 0
    handed_over(conv)
    row = agree()
    assert row["waiting_since"] is not None and row["label"].startswith("Ada Park: Can I pay with crypto?")
    services.conversation_takeover(conversation=conv, user=sam)
    factories.customer_message(conv, "Hello? Anyone?")
    row = agree()
    assert row["agent_name"] == "Sam Lee" and row["customer_messages"] == 2 and row["last_message"] == "Hello? Anyone?"
    assert datetime.fromisoformat(row["waiting_since"]).tzinfo is not None
    services.agent_message_create(conversation=conv, user=sam, text="Yes, Sam here.")
    assert agree()["waiting_since"] is None
    with pytest.raises(Conversation.DoesNotExist):
        conversation_summary(Conversation(pk=uuid.uuid4()))
