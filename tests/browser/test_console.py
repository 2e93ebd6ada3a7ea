"""A staff member takes over in the console while a customer chats in the widget."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conversations.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHADOW_LAST = (
    "(sel) => { const r = document.querySelector('#parley-widget').shadowRoot;"
    " const all = [...r.querySelectorAll(sel)]; return all.length ? all[all.length - 1].textContent : null; }"
)


def test_staff_takes_over_and_the_customer_sees_the_agent_live(browser: Any, live_server_url: str) -> None:
    staff = User.objects.create_user("sam", password="pw-123456-long", is_staff=True)
    client = Client()
    client.force_login(staff)

    customer = browser.new_context().new_page()
    customer.goto(live_server_url + "/")
    customer.click("button.launcher")
    customer.fill("textarea", "Hello, how are you?")
    customer.keyboard.press("Enter")
    customer.wait_for_function(f"() => ({SHADOW_LAST})('.msg.assistant .text')", timeout=60000)
    conversation = customer.evaluate("window.Parley.conversation()")

    console_context = browser.new_context()
    console_context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}]
    )
    console = console_context.new_page()
    console.goto(live_server_url + "/console/")
    console.click(f"button.conv[data-id='{conversation}']", timeout=15000)
    console.wait_for_selector("#log .msg.customer >> text=Hello, how are you?")
    console.click("#takeover")
    console.wait_for_selector("#state.human", timeout=10000)
    console.fill("#reply-input", "Hi, this is Sam from the team.")
    console.click("#send")

    customer.wait_for_function(
        f"() => ({SHADOW_LAST})('.msg.agent .text') === 'Hi, this is Sam from the team.'", timeout=15000
    )
    customer.fill("textarea", "Thanks Sam, where is my parcel?")
    customer.keyboard.press("Enter")
    console.wait_for_selector("#log .msg.customer >> text=Thanks Sam, where is my parcel?", timeout=15000)
    customer.wait_for_timeout(1500)
    # The bot stayed silent after the takeover: one bot reply, from before it.
    assert Message.objects.filter(conversation_id=conversation, role="assistant").count() == 1
    assert customer.evaluate(f"({SHADOW_LAST})('.msg.customer .text')") == "Thanks Sam, where is my parcel?"
    console_context.close()
