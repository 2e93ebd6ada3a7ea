"""A person joins and leaves while the customer chats in the widget: what the customer sees.

The staff side is driven through the services and the staff socket (as the console drives
it), so these tests do not depend on the console page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from conversations import services
from conversations.models import Conversation, Message
from tests import factories
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The staff socket, opened from a page of the staff member's session: resolves once it is open.
STAFF_SOCKET = """
(url) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  window.__staff = ws;
  ws.onopen = () => resolve(true);
  ws.onerror = () => reject(new Error('staff socket refused'));
})
"""


def customer_page(browser: Any, live_server_url: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(live_server_url + "/")
    page.click("button.launcher")
    return page


def staff_socket(browser: Any, live_server_url: str, user: User) -> Any:
    client = Client()
    client.force_login(user)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server_url}])
    page = context.new_page()
    page.goto(live_server_url + "/healthz")
    page.evaluate(STAFF_SOCKET, live_server_url.replace("http", "ws", 1) + "/ws/staff/")
    return page


def test_the_customer_sees_who_joined_their_typing_and_their_name(browser: Any, live_server_url: str) -> None:
    sam = User.objects.create_user("sam.k", first_name="Sam", is_staff=True)
    customer = customer_page(browser, live_server_url)
    customer.fill("textarea", "Hello, how are you?")
    customer.keyboard.press("Enter")
    customer.wait_for_selector(".msg.assistant:not([aria-busy]) .text:not(:empty)", timeout=60000)
    conv = Conversation.objects.get(pk=customer.evaluate("window.Parley.conversation()"))

    services.conversation_takeover(conversation=conv, user=sam)
    customer.wait_for_selector(".msg.system >> text=Sam joined the conversation.", timeout=15000)
    assert customer.locator("button.human").is_hidden()  # a person is here already

    staff = staff_socket(browser, live_server_url, sam)
    typing = {"type": "typing", "conversation_id": str(conv.id), "active": True}
    staff.evaluate("(frame) => window.__staff.send(JSON.stringify(frame))", typing)
    indicator = customer.locator(".typing")
    customer.wait_for_selector(".typing >> text=Sam is typing…", timeout=15000)
    assert indicator.get_attribute("role") == "status" and indicator.get_attribute("aria-label")

    services.agent_message_create(conversation=conv, user=sam, text="Hi, Sam from the team here.")
    customer.wait_for_selector(".msg.agent .text >> text=Hi, Sam from the team here.", timeout=15000)
    assert customer.locator(".msg.agent .who").last.text_content() == "Sam"
    assert indicator.is_hidden()  # the message ends the typing
    assert "sam.k" not in (customer.locator(".log").text_content() or "")  # the username stays staff-only
    staff.context.close()
    customer.context.close()


def test_after_handback_the_customer_is_told_and_the_bot_answers_what_nobody_did(
    browser: Any, live_server_url: str
) -> None:
    factories.shipping_article()
    sam = User.objects.create_user("sam.h", first_name="Sam", is_staff=True)
    customer = customer_page(browser, live_server_url)
    customer.fill("textarea", "Hello, how are you?")
    customer.keyboard.press("Enter")
    customer.wait_for_selector(".msg.assistant:not([aria-busy]) .text:not(:empty)", timeout=60000)
    conv = Conversation.objects.get(pk=customer.evaluate("window.Parley.conversation()"))
    services.agent_message_create(conversation=conv, user=sam, text="Sam here, one moment.")
    customer.wait_for_selector(".msg.agent >> text=Sam here, one moment.", timeout=15000)

    customer.fill("textarea", factories.KB_QUESTION)
    customer.keyboard.press("Enter")
    customer.wait_for_selector(f".msg.customer:not(.sending) >> text={factories.KB_QUESTION}", timeout=15000)
    assert Message.objects.filter(conversation=conv, role="assistant").count() == 1  # the bot stays silent

    services.conversation_handback(conversation=conv, user=sam)
    customer.wait_for_selector(
        ".msg.system >> text=Sam left the conversation. You're chatting with the automated assistant again.",
        timeout=15000,
    )
    customer.wait_for_selector(".msg.assistant .fb button", timeout=60000)  # the answer, complete
    answer = Message.objects.filter(conversation=conv, role="assistant").order_by("-seq").first()
    assert answer is not None and answer.reply_to is not None and answer.reply_to.text == factories.KB_QUESTION
    wait_until(lambda: answer.text in customer.locator(".msg.assistant .text").all_text_contents(), 15, "the answer")
    order = customer.evaluate(
        "() => [...document.querySelector('#parley-widget').shadowRoot.querySelectorAll('.log .msg')]"
        ".map(m => m.classList[1])"
    )
    assert order[-3:] == ["customer", "system", "assistant"]
    assert customer.locator("button.human").is_visible()
    customer.context.close()
