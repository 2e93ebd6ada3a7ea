"""End to end in a real browser: the widget on the demo page, against `make run`'s stack."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from conversations import services
from conversations.models import Conversation
from generation.knowledge import articles, formats
from tests import factories
from tests.browser.axe import axe_violations, describe
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# One timeline of what the page received and what it showed: every websocket frame (logged
# before the widget handles it) and every change of the last assistant bubble's text.
TIMELINE = """
(() => {
  window.__events = [];
  const Native = window.WebSocket;
  function Logged(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener('message', (e) => {
      try {
        const f = JSON.parse(e.data);
        window.__events.push({kind: f.type, role: f.message ? f.message.role : null, text: f.text || null});
      } catch (err) {}
    });
    return ws;
  }
  Logged.prototype = Native.prototype;
  Object.assign(Logged, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Logged;
})();
"""
WATCH_ASSISTANT = """
() => {
  const root = document.querySelector('#parley-widget').shadowRoot;
  new MutationObserver(() => {
    const last = [...root.querySelectorAll('.msg.assistant .text')].pop();
    if (last) window.__events.push({kind: 'shown', text: last.textContent});
  }).observe(root, {subtree: true, childList: true, characterData: true});
}
"""


ARTICLE_URL = "https://help.example.com/shipping-costs"


def help_centre_article() -> None:
    """The shipping article, with its address in the help centre (``factories.shipping_article`` has none)."""
    article = formats.ArticleInput(
        title=factories.SHIPPING_ARTICLE["title"], body=factories.SHIPPING_ARTICLE["body"], url=ARTICLE_URL
    )
    articles.kb_import([article], replace=True)


def test_customer_chats_sees_the_reply_stream_and_keeps_it_after_reload(browser: Any, live_server_url: str) -> None:
    help_centre_article()
    page = browser.new_page()
    page.add_init_script(TIMELINE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server_url + "/")
    page.click("button.launcher")
    assert page.get_attribute("button.launcher", "aria-expanded") == "true"
    page.evaluate(WATCH_ASSISTANT)
    page.fill("textarea", factories.KB_QUESTION)
    page.keyboard.press("Enter")

    page.wait_for_selector(f".msg.customer:not(.sending) >> text={factories.KB_QUESTION}", timeout=15000)
    # The thumbs appear once the answer is complete (the typing indicator hides at its first word).
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    assert page.locator(".typing").is_hidden()
    final = page.locator(".msg.assistant .text").last.text_content()
    assert final
    events = page.evaluate("window.__events")
    final_at = next(i for i, e in enumerate(events) if e["kind"] == "message" and e["role"] == "assistant")
    first_delta = next(i for i, e in enumerate(events) if e["kind"] == "delta")
    # Streamed: deltas arrived before the final message, and the bubble showed their text as
    # they came (how many deltas depends on how fast the model is against the 40 ms coalescing).
    shown = [e["text"] for e in events[first_delta:final_at] if e["kind"] == "shown" and e["text"]]
    assert first_delta < final_at and shown
    assert all(final.startswith(text) for text in shown)
    deltas = "".join(e["text"] for e in events[:final_at] if e["kind"] == "delta")
    assert shown[-1] == deltas.lstrip() or shown[-1] == deltas
    assert page.locator(".log").get_attribute("aria-live") == "polite"
    # The source is a link to the help-centre article, opened in a new tab.
    link = page.locator(".msg.assistant .sources a").first
    assert link.text_content() == factories.SHIPPING_ARTICLE["title"]
    assert link.get_attribute("href") == ARTICLE_URL and link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "").split()
    conversation = page.evaluate("window.Parley.conversation()")

    page.reload()
    page.click("button.launcher")
    page.wait_for_selector(".msg.assistant .text >> text=" + final[:20], timeout=15000)
    assert page.locator(".msg.customer .text").all_text_contents() == [factories.KB_QUESTION]
    assert page.locator(".msg.assistant .text").all_text_contents() == [final]
    assert page.evaluate("window.Parley.conversation()") == conversation
    assert page.locator(".msg.assistant .fb button").count() == 2  # thumbs up/down on the answer
    assert not errors
    page.close()


def test_message_text_is_shown_as_text_never_as_html(browser: Any, live_server_url: str) -> None:
    page = browser.new_page()
    page.goto(live_server_url + "/")
    page.evaluate("localStorage.clear()")
    page.reload()
    page.click("button.launcher")
    payload = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    page.fill("textarea", payload)
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg.customer:not(.sending)", timeout=15000)
    assert page.locator(".msg.customer .text").last.text_content() == payload
    assert page.locator(".msg img").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.close()


def open_widget(browser: Any, url: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.goto(url + "/")
    page.click("button.launcher")
    return page


def wait_for_final_reply(page: Any) -> None:
    """Until the latest assistant bubble is final (no longer busy) with text."""
    page.wait_for_selector(".msg.assistant:not([aria-busy]) .text:not(:empty)", timeout=60000)


def test_the_panel_opens_with_a_greeting_and_says_it_is_a_bot(browser: Any, live_server_url: str) -> None:
    page = open_widget(browser, live_server_url)
    assert page.locator(".greeting").text_content() == "Hi! How can we help you today?"
    assert "automated assistant" in (page.locator(".disclosure").text_content() or "")
    assert page.evaluate("window.Parley.conversation()") is None  # opening alone starts nothing

    # A host page words them its own way on the script tag.
    custom = browser.new_context().new_page()
    custom.route(
        live_server_url + "/help",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><html lang="en"><title>Help</title><main><h1>Help</h1></main>'
            f'<script src="{live_server_url}/static/widget/widget.js" data-server="{live_server_url}" '
            'data-greeting="Ahoy! Ask us anything." data-disclosure="Our bot answers first."></script></html>',
        ),
    )
    custom.goto(live_server_url + "/help")
    custom.click("button.launcher")
    assert custom.locator(".greeting").text_content() == "Ahoy! Ask us anything."
    assert custom.locator(".disclosure").text_content() == "Our bot answers first."
    page.context.close()
    custom.context.close()


def test_icons_are_svg_with_names_and_no_emoji(browser: Any, live_server_url: str) -> None:
    page = open_widget(browser, live_server_url)
    for selector, name in [("button.launcher", "Close chat"), ("button.close", "Close chat"), ("button.send", "Send")]:
        button = page.locator(selector)
        assert button.get_attribute("aria-label") == name
        assert button.locator("svg").count() == 1
    text = page.evaluate("document.querySelector('#parley-widget').shadowRoot.textContent")
    assert not re.search("[\U0001f300-\U0001faff]", text)
    page.context.close()


def test_small_talk_gets_a_canned_line_without_thumbs_and_no_rating_yet(browser: Any, live_server_url: str) -> None:
    page = open_widget(browser, live_server_url)
    page.fill("textarea", "Hello, how are you?")
    page.keyboard.press("Enter")
    wait_for_final_reply(page)
    assert page.locator(".msg.assistant .fb").count() == 0
    assert page.locator(".rate").count() == 0  # a reply is no reason to ask for stars
    page.context.close()


def test_the_rating_is_offered_when_the_customer_leaves_after_an_answer(browser: Any, live_server_url: str) -> None:
    factories.shipping_article()
    page = open_widget(browser, live_server_url)
    page.fill("textarea", factories.KB_QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    assert page.locator(".rate").count() == 0
    page.click("button.close")
    page.click("button.launcher")
    page.click(".rate button[aria-label='4 stars']")
    page.wait_for_selector(".rate >> text=Thanks for your rating!")
    conversation = page.evaluate("window.Parley.conversation()")
    wait_until(lambda: Conversation.objects.get(pk=conversation).rating == 4, 10, "the rating stored")
    page.context.close()


def test_talk_to_a_person_asks_for_one_and_the_rating_waits(browser: Any, live_server_url: str) -> None:
    factories.shipping_article()
    page = open_widget(browser, live_server_url)
    page.fill("textarea", factories.KB_QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    page.click("button.human")
    page.wait_for_selector(".msg.system >> text=We've asked a member of our team to join.", timeout=15000)
    assert page.locator("button.human").is_hidden()  # asked already
    conversation = page.evaluate("window.Parley.conversation()")
    assert Conversation.objects.get(pk=conversation).status == Conversation.Status.NEEDS_HUMAN
    page.click("button.close")
    page.click("button.launcher")
    assert page.locator(".rate").count() == 0  # never while they wait for a person
    page.context.close()


def test_the_launcher_counts_unread_replies_across_a_reload(browser: Any, live_server_url: str) -> None:
    staff = User.objects.create_user("robin", first_name="Robin", is_staff=True)
    page = open_widget(browser, live_server_url)
    page.fill("textarea", "Hello, how are you?")
    page.keyboard.press("Enter")
    wait_for_final_reply(page)
    page.click("button.close")
    assert page.locator(".badge").is_hidden()  # the reply was read
    conv = Conversation.objects.get(pk=page.evaluate("window.Parley.conversation()"))
    services.agent_message_create(conversation=conv, user=staff, text="Robin here: anything else?")
    page.wait_for_selector(".badge >> text=1", timeout=15000)
    assert page.get_attribute("button.launcher", "aria-label") == "Open chat, 1 unread message"

    page.reload()
    page.wait_for_selector(".badge >> text=1", timeout=15000)
    page.click("button.launcher")
    assert page.locator(".badge").is_hidden()
    page.wait_for_selector(".msg.agent .text >> text=Robin here: anything else?")
    page.reload()
    page.wait_for_selector(".msg.agent", state="attached", timeout=15000)
    assert page.locator(".badge").is_hidden()  # read before the reload
    page.context.close()


def test_a_phone_gets_a_full_screen_panel_and_a_16px_input(browser: Any, live_server_url: str) -> None:
    page = open_widget(browser, live_server_url, viewport={"width": 390, "height": 844}, is_mobile=True)
    box = page.locator(".panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    font = "(sel) => getComputedStyle(document.querySelector('#parley-widget').shadowRoot.querySelector(sel)).fontSize"
    assert page.evaluate(font, "textarea") == "16px"  # iOS zooms into smaller inputs
    page.context.close()
    desktop = open_widget(browser, live_server_url)
    assert desktop.evaluate(font, "textarea") == "16px"
    assert desktop.locator(".panel").bounding_box()["width"] == 360
    desktop.context.close()


def test_the_demo_page_and_widget_pass_an_accessibility_audit(browser: Any, live_server_url: str) -> None:
    factories.shipping_article()
    page = browser.new_context().new_page()
    page.goto(live_server_url + "/")
    page.wait_for_selector("button.launcher")
    closed = axe_violations(page)
    assert not closed, describe(closed)
    page.click("button.launcher")
    empty = axe_violations(page)
    assert not empty, describe(empty)
    page.fill("textarea", factories.KB_QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    page.click("button.close")
    page.click("button.launcher")  # the rating is offered too
    page.wait_for_selector(".rate button")
    chatted = axe_violations(page)
    assert not chatted, describe(chatted)
    page.context.close()


def test_the_rating_is_offered_after_two_quiet_minutes_following_an_answer(browser: Any, live_server_url: str) -> None:
    factories.shipping_article()
    page = browser.new_context().new_page()
    page.clock.install()
    page.goto(live_server_url + "/")
    page.click("button.launcher")
    page.fill("textarea", factories.KB_QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    page.clock.run_for("01:30")
    assert page.locator(".rate").count() == 0
    page.clock.run_for("00:31")
    page.wait_for_selector(".rate button[aria-label='5 stars']", timeout=5000)
    page.context.close()
