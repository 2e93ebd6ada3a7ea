"""An agent's day in the console, in Chromium: the inbox filters and alerts, unread counts
that survive a reload, hand-back, saved replies and drafts from the knowledge base; and
axe-core audits of the console and the ops page."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from conversations import services, streaming
from conversations.models import Conversation, Message, SavedReply
from conversations.payloads import conversation_summary, summary_query
from conversations.streaming import publisher
from tests import factories
from tests.browser.axe import axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff() -> User:
    return User.objects.create_user("sam", password="pw-123456-long", is_staff=True, first_name="Sam")


@pytest.fixture
def console(browser: Any, live_server_url: str, staff: User) -> Iterator[Any]:
    """The console page of ``staff``, logged in, with the inbox loaded."""
    client = Client()
    client.force_login(staff)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}])
    page = context.new_page()
    page.goto(live_server_url + "/console/")
    page.wait_for_selector("#list li")
    yield page
    context.close()


def row(conv: Conversation) -> str:
    return f"button.conv[data-id='{conv.id}']"


def open_conversation(page: Any, conv: Conversation) -> None:
    page.click(row(conv), timeout=15000)
    page.wait_for_selector(f"#title >> text={str(conv.id)[:8]}")


def test_inbox_filters_show_mine_and_unassigned(console: Any, staff: User) -> None:
    mine, _ = factories.conversation()
    factories.customer_message(mine, "Where do you ship from?")
    waiting, _ = factories.conversation()
    factories.customer_message(waiting, "Do you sell gift cards?")
    services.conversation_takeover(conversation=mine, user=staff)
    console.wait_for_selector(row(waiting))
    console.wait_for_selector(f"{row(mine)} >> text=Sam")

    console.click("[data-filter=mine]")
    console.wait_for_selector(row(waiting), state="detached")
    assert console.is_visible(row(mine))
    assert "Where do you ship from?" in console.text_content(row(mine))

    console.click("[data-filter=unassigned]")
    console.wait_for_selector(row(mine), state="detached")
    assert console.is_visible(row(waiting))
    assert "Unassigned" in console.text_content(row(waiting))
    # The row tells who waits and since when, in words and as a machine-readable time.
    assert console.get_attribute(f"{row(waiting)} time", "datetime")


def test_an_inbox_update_read_before_the_row_shown_does_not_replace_it(console: Any, staff: User) -> None:
    conv, _ = factories.conversation()
    factories.customer_message(conv, "Where do you ship from?")
    deadline = time.monotonic() + 30
    while not Message.objects.filter(
        conversation=conv, role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE
    ).exists():
        assert time.monotonic() < deadline, "the bot never answered"
        time.sleep(0.1)
    stale = conversation_summary(summary_query.get(conv.pk))  # as a worker read it before the takeover
    time.sleep(0.01)  # the takeover's time is later than the row read above, on any clock
    services.conversation_takeover(conversation=conv, user=staff)
    console.wait_for_selector(f"{row(conv)} >> text=Sam")
    # The worker's update, sent after the takeover's, arrives last; a row after it shows it came.
    publisher.outbox_put(streaming.STAFF_INBOX, {"type": "inbox.update", "conversation": stale})
    later, _ = factories.conversation()
    factories.customer_message(later, "Do you sell gift cards?")
    console.wait_for_selector(row(later))
    assert "Sam" in console.text_content(row(conv))


def test_a_change_whose_inbox_update_was_lost_shows_when_the_inbox_is_read_again(console: Any, staff: User) -> None:
    conv, _ = factories.conversation()
    console.wait_for_selector(row(conv))
    # Changed without telling the inboxes, as when Redis drops the update on the way.
    Conversation.objects.filter(pk=conv.pk).update(
        status=Conversation.Status.HUMAN, agent=staff, updated_at=timezone.now()
    )
    console.wait_for_selector(f"{row(conv)} >> text=Sam", timeout=25000)  # read every 15 s


def test_a_conversation_that_starts_needing_a_person_alerts_the_agent(console: Any, live_server_url: str) -> None:
    conv, token = factories.conversation()
    # The console has read its first inbox (which only records who is already waiting) before
    # the customer asks for a person.
    console.wait_for_selector(row(conv))
    console.wait_for_function("() => window.ParleyConsole && window.ParleyConsole.alerts === 0")
    # The customer presses "Talk to a person" in the widget: the web process flags the
    # conversation at once, with no worker in between.
    request = urllib.request.Request(
        f"{live_server_url}/api/conversations/{conv.id}/handoff/",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response) == {"status": "needs_human"}
    console.wait_for_function("() => window.ParleyConsole.alerts === 1", timeout=30000)
    assert "A customer needs a person" in console.text_content("#status")
    console.wait_for_selector(f"{row(conv)} .wait")
    assert console.title().startswith("(1)")


def test_unread_counts_survive_a_reload_and_clear_when_the_agent_reads(console: Any, live_server_url: str) -> None:
    conv, _ = factories.conversation()
    Conversation.objects.filter(pk=conv.pk).update(status="human")  # no bot replies: only customer messages
    factories.customer_message(conv, "First question")
    factories.customer_message(conv, "Second question")
    console.wait_for_selector(f"{row(conv)} .unread >> text=2")
    console.reload()
    console.wait_for_selector(f"{row(conv)} .unread >> text=2")
    open_conversation(console, conv)
    console.wait_for_selector(f"{row(conv)} .unread", state="detached")
    console.reload()
    console.wait_for_selector(row(conv))
    assert console.query_selector(f"{row(conv)} .unread") is None


def test_reply_box_says_sending_takes_over_and_hand_back_returns_to_the_bot(console: Any) -> None:
    conv, _ = factories.conversation()
    factories.customer_message(conv, "Hello, how are you?")
    open_conversation(console, conv)
    console.wait_for_selector("#log .msg.customer >> text=Hello, how are you?")
    console.wait_for_selector("#log .msg.assistant", timeout=60000)
    assert "sending takes the conversation over" in console.text_content("#reply-hint")
    assert console.text_content("#send") == "Take over and send"
    # Messages read as people read them: who and when, not "#1 customer · complete".
    assert console.text_content("#log .msg.customer .who").startswith("Customer · ")

    console.fill("#reply-input", "Hi, Sam here.")
    console.click("#send")
    console.wait_for_selector("#state.human")
    console.wait_for_selector("#log .msg.agent >> text=Hi, Sam here.")
    assert console.text_content("#send") == "Send"
    assert console.text_content("#log .msg.agent .who").startswith("Sam (agent) · ")
    # The customer was told, and so is the agent: the joined notice is in the transcript.
    console.wait_for_selector("#log .msg.system >> text=Sam joined the conversation.")

    console.click("#handback")
    console.wait_for_selector("#state.bot")
    console.wait_for_selector("#log .msg.system >> text=Sam left the conversation.")
    assert Conversation.objects.get(pk=conv.pk).agent is None
    factories.customer_message(conv, "Thanks! And how are you?")
    # The bot answers again.
    console.wait_for_function("() => document.querySelectorAll('#log .msg.assistant').length === 2", timeout=60000)


def test_saved_replies_are_searched_and_inserted_for_editing(console: Any) -> None:
    SavedReply.objects.create(title="Refund timing", text="Hi, {agent} here. Refunds reach your card within 5 days.")
    SavedReply.objects.create(title="Opening hours", text="We are open 9 to 5.")
    conv, _ = factories.conversation()
    factories.customer_message(conv, "When do I get my refund?")
    console.reload()
    open_conversation(console, conv)
    console.fill("#saved-search", "refund")
    console.wait_for_selector("#saved-list >> text=Opening hours", state="detached")
    console.click("#saved-list button >> text=Refund timing")
    assert console.input_value("#reply-input") == "Hi, Sam here. Refunds reach your card within 5 days."
    console.fill("#reply-input", console.input_value("#reply-input") + " Sorry for the wait!")
    console.click("#send")
    console.wait_for_selector("#log .msg.agent >> text=Sorry for the wait!")


def test_suggested_replies_are_drafts_with_the_knowledge_base_facts(console: Any) -> None:
    factories.shipping_article()
    conv, _ = factories.conversation()
    factories.customer_message(conv, factories.KB_QUESTION)
    open_conversation(console, conv)
    console.wait_for_selector("#log .msg.assistant", timeout=60000)
    console.click("#takeover")
    console.wait_for_selector("#state.human")
    # The customer's last word is no question: the drafts answer the question before it.
    factories.customer_message(conv, "Sure, it's order TW-48213. Thanks!")
    console.wait_for_selector("#log .msg.customer >> text=TW-48213")
    console.click("#suggest")
    console.wait_for_selector("#suggestions button", timeout=60000)
    drafts = console.eval_on_selector_all("#suggestions button", "bs => bs.map(b => b.textContent)")
    assert 1 <= len(drafts) <= 3
    assert all("$19.95" in d for d in drafts[:1]), drafts
    assert not any("A member of our team" in d for d in drafts), drafts
    console.click("#suggestions button >> nth=0")
    assert "$19.95" in console.input_value("#reply-input")
    console.click("#send")
    console.wait_for_selector("#log .msg.agent >> text=$19.95")
    assert Message.objects.filter(conversation=conv, role="agent", text__contains="$19.95").exists()


def test_the_console_with_a_conversation_open_passes_axe(console: Any, staff: User) -> None:
    SavedReply.objects.create(title="Greeting", text="Hello!")
    conv, _ = factories.conversation()
    factories.customer_message(conv, "Hello, how are you?")
    services.note_create(conversation=conv, user=staff, text="VIP customer")
    console.reload()
    open_conversation(console, conv)
    console.wait_for_selector("#log .msg.assistant", timeout=60000)
    console.wait_for_selector("#note-list .note")
    violations = axe_violations(console)
    assert not violations, describe(violations)


def test_the_ops_page_passes_axe_and_refreshes_without_reloading(
    browser: Any, live_server_url: str, staff: User
) -> None:
    conv, _ = factories.conversation()
    factories.bot_reply(conv, 1, completion_tokens=30, first_token_ms=120, generation_ms=600)
    client = Client()
    client.force_login(staff)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}])
    page = context.new_page()
    page.goto(live_server_url + "/ops/")
    assert page.query_selector("meta[http-equiv=refresh]") is None
    assert "Waiting for a human" in page.text_content("#waiting-for-human")
    violations = axe_violations(page)
    assert not violations, describe(violations)
    context.close()
