"""Known customers, out-of-hours handoffs and knowledge gaps, in Chromium: a signed-in customer
on two devices, the email left under the offline notice, and the staff gaps page (audited with
axe-core)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import override_settings

from conversations import services
from conversations.identity import identity_hash
from conversations.models import Conversation, Message
from generation.answering import phrases
from tests import factories
from tests.browser.axe import axe_violations, describe
from tests.conftest import run_queue, service_env, start_web, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "browser-identity-secret-0123456789"
# Hours that are not now (tomorrow only, UTC): every handoff is out of hours.
OPEN_DAY = (datetime.now(UTC) + timedelta(days=1)).date()
CLOSED = f"{OPEN_DAY:%a} 09:00-17:00"
SHADOW_TEXTS = (
    "(sel) => [...document.querySelector('#parley-widget').shadowRoot.querySelectorAll(sel)].map(e => e.textContent)"
)


@pytest.fixture(autouse=True)
def replies_settled(transactional_db: None) -> Iterator[None]:
    """No reply to wait for at a test's end: no worker reads this server's queue."""
    yield


@pytest.fixture(scope="module")
def known_url(live_server_url: str, django_db_blocker: Any, tiny_model_path: Path) -> Iterator[str]:
    """A web server with identities on and the team out of hours. Its replies go to a queue no
    worker reads: the tests write the bot's handoff themselves, as the worker would."""
    with django_db_blocker.unblock():
        env = service_env(
            tiny_model_path, WIDGET_IDENTITY_SECRET=SECRET, SUPPORT_HOURS=CLOSED, GENERATION_QUEUE=run_queue("known")
        )
    proc: subprocess.Popen[bytes]
    proc, url = start_web(env, log_name="test-web-known.log")
    try:
        yield url
    finally:
        stop_process(proc)


def shop(page: Any, url: str, *, user_id: str = "", user_hash: str = "") -> None:
    """The demo shop with the widget, for the host site's signed-in customer (if any), whom the
    page passes as ``window.ParleySettings`` before the widget loads. (A page Playwright makes
    up would not do: Chromium blocks its websocket to 127.0.0.1 as a public page's.)"""
    if user_id:
        identity = {
            "user_id": user_id,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "user_hash": user_hash or identity_hash(SECRET, user_id),
        }
        page.add_init_script(f"window.ParleySettings = {{identity: {json.dumps(identity)}}};")
    page.goto(f"{url}/")


def say(page: Any, text: str) -> None:
    page.fill("textarea", text)
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({SHADOW_TEXTS})('.msg.customer:not(.sending) .text').includes({text!r})")


def staff_context(browser: Any, url: str, *, superuser: bool = False) -> Any:
    name = "lead" if superuser else "sam"
    staff, _ = User.objects.get_or_create(username=name, defaults={"is_staff": True, "is_superuser": superuser})
    client = Client()
    client.force_login(staff)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}])
    return context


def test_a_signed_in_customer_is_named_to_staff_and_finds_their_conversation_on_another_device(
    browser: Any, known_url: str
) -> None:
    laptop = browser.new_context().new_page()
    shop(laptop, known_url, user_id="cust-7")
    laptop.click("button.launcher")
    say(laptop, "My tent pole snapped on day two")
    conversation = laptop.evaluate("window.Parley.conversation()")

    staff = staff_context(browser, known_url)
    detail = staff.request.get(f"{known_url}/api/staff/conversations/{conversation}/").json()
    assert detail["conversation"]["customer"] == {
        "user_id": "cust-7",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
    }
    inbox = staff.request.get(f"{known_url}/api/staff/conversations/").json()["conversations"]
    assert any(c["id"] == conversation and c["customer"]["name"] == "Ada Lovelace" for c in inbox)

    phone = browser.new_context().new_page()
    shop(phone, known_url, user_id="cust-7")
    phone.click("button.launcher")
    phone.wait_for_function(
        f"() => ({SHADOW_TEXTS})('.msg.customer .text').includes('My tent pole snapped on day two')", timeout=15000
    )
    assert phone.evaluate("window.Parley.conversation()") == conversation
    say(phone, "Sent from my phone")
    laptop.wait_for_function(f"() => ({SHADOW_TEXTS})('.msg.customer .text').includes('Sent from my phone')")
    staff.close()


def test_a_badly_signed_customer_chats_anonymously(browser: Any, known_url: str) -> None:
    page = browser.new_context().new_page()
    shop(page, known_url, user_id="cust-8", user_hash=identity_hash("not-the-secret", "cust-8"))
    page.click("button.launcher")
    say(page, "Hello there")
    conversation = Conversation.objects.get(pk=page.evaluate("window.Parley.conversation()"))
    assert conversation.customer is None


def test_out_of_hours_the_customer_leaves_an_email_that_staff_see(browser: Any, known_url: str) -> None:
    page = browser.new_context().new_page()
    shop(page, known_url)
    page.click("button.launcher")
    say(page, "Can I talk to a person?")
    conversation = page.evaluate("window.Parley.conversation()")
    reply = Message.objects.get(conversation_id=conversation, role="assistant", status="pending")
    with override_settings(SUPPORT_HOURS=CLOSED):  # the worker's hand-off, as it writes it
        assert services.reply_claim(message_id=str(reply.id)) is not None
        services.reply_complete(
            message_id=str(reply.id), text=phrases.HANDOFF_REQUESTED, meta={"mode": "handoff", "handoff": True}
        )

    page.wait_for_selector(".msg.system form.contact", timeout=15000)
    notice = page.evaluate(f"({SHADOW_TEXTS})('.msg.system .text')")[-1]
    # "tomorrow", or "today" once a run that set the hours yesterday goes past midnight.
    day = "today" if datetime.now(UTC).date() == OPEN_DAY else "tomorrow"
    assert notice.startswith(f"Our team is offline now and back {day} at 09:00 (UTC).")
    # The notice and its form (the rest of the widget has audits of its own), inside the
    # widget's shadow root: axe-core's ``fromShadowDom`` selector.
    inside = {"fromShadowDom": ["#parley-widget", ".msg.system"]}
    violations = axe_violations(page, include=cast(Any, inside))
    assert not violations, describe(violations)

    page.fill("form.contact input", "jo@example")
    page.click("form.contact button")
    page.wait_for_function(f"() => ({SHADOW_TEXTS})('form.contact .err')[0]", timeout=10000)
    assert "email address" in page.evaluate(f"({SHADOW_TEXTS})('form.contact .err')")[0]
    page.fill("form.contact input", "jo@example.com")
    page.click("form.contact button")
    page.wait_for_function(
        f"() => ({SHADOW_TEXTS})('.msg.system .text').some(t => t.includes('answer at jo@example.com'))",
        timeout=10000,
    )
    # The form goes once the request is answered, which may come after the notice on the socket.
    page.wait_for_function(f"() => ({SHADOW_TEXTS})('form.contact').length === 0", timeout=10000)

    staff = staff_context(browser, known_url)
    inbox = staff.request.get(f"{known_url}/api/staff/conversations/").json()["conversations"]
    mine = next(c for c in inbox if c["id"] == conversation)
    assert mine["contact_email"] == "jo@example.com" and mine["offline_request"] is True
    staff.close()


def test_the_knowledge_gaps_page_lists_groups_and_passes_an_accessibility_audit(
    browser: Any, live_server_url: str
) -> None:
    for text in ("Do you sell gift cards?", "Can I buy a gift card for my dad?"):
        conversation, _ = factories.conversation()
        result = factories.customer_message(conversation, text)
        assert result.reply is not None
        Message.objects.filter(pk=result.reply.pk).update(
            text=phrases.HANDOFF_UNKNOWN, status="complete", mode="handoff", handoff=True
        )

    staff = staff_context(browser, live_server_url, superuser=True)  # may add articles
    page = staff.new_page()
    page.goto(f"{live_server_url}/console/gaps/")
    page.wait_for_selector("text=2 customers asked about gift cards")
    page.click("text=Add an article about gift cards")
    page.wait_for_selector("#id_title")
    assert page.input_value("#id_title") == "Gift cards"
    page.go_back()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    staff.close()
