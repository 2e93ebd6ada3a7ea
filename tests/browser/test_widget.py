"""End to end in a real browser: the widget on the demo page, against `make run`'s stack."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_customer_chats_sees_the_reply_stream_and_keeps_it_after_reload(browser: Any, live_server_url: str) -> None:
    page = browser.new_page()
    page.add_init_script(TIMELINE)
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
