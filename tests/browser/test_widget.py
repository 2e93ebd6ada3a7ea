"""End to end in a real browser: the widget on the demo page, against `make run`'s stack."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH_ASSISTANT = """
() => {
  window.__seen = [];
  const root = document.querySelector('#parley-widget').shadowRoot;
  new MutationObserver(() => {
    const last = [...root.querySelectorAll('.msg.assistant .text')].pop();
    if (last) window.__seen.push(last.textContent);
  }).observe(root, {subtree: true, childList: true, characterData: true});
}
"""


def test_customer_chats_sees_the_reply_stream_and_keeps_it_after_reload(browser: Any, live_server_url: str) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server_url + "/")
    page.click("button.launcher")
    assert page.get_attribute("button.launcher", "aria-expanded") == "true"
    page.evaluate(WATCH_ASSISTANT)
    page.fill("textarea", "Hello, how are you?")
    page.keyboard.press("Enter")

    page.wait_for_selector(".msg.customer:not(.sending) >> text=Hello, how are you?", timeout=15000)
    # The thumbs appear once the reply is complete (the typing indicator hides at its first word).
    page.wait_for_selector(".msg.assistant .fb button", timeout=60000)
    assert page.locator(".typing").is_hidden()
    final = page.locator(".msg.assistant .text").last.text_content()
    assert final
    seen = [s for s in page.evaluate("window.__seen") if s]
    # Streamed: the text grew through intermediate states before the final one.
    assert len(set(seen)) >= 2 and all(final.startswith(s) for s in seen)
    assert page.locator(".log").get_attribute("aria-live") == "polite"
    conversation = page.evaluate("window.Parley.conversation()")

    page.reload()
    page.click("button.launcher")
    page.wait_for_selector(".msg.assistant .text >> text=" + final[:20], timeout=15000)
    assert page.locator(".msg.customer .text").all_text_contents() == ["Hello, how are you?"]
    assert page.locator(".msg.assistant .text").all_text_contents() == [final]
    assert page.evaluate("window.Parley.conversation()") == conversation
    assert page.locator(".msg.assistant .fb button").count() == 2  # thumbs up/down on the reply
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
