/*
 * Parley chat widget. Embed with one tag:
 *   <script src="https://support.example.com/static/widget/widget.js"
 *           data-server="https://support.example.com" defer></script>
 * Optional: data-title, data-greeting, data-disclosure (the lines shown when the panel opens),
 * data-rating-after (seconds of quiet after an answer before the rating is offered; 120).
 *
 * Plain JavaScript, no build step. Message text only ever goes into textContent.
 * The conversation (id + token) lives in localStorage, so a reload resumes it; unsent
 * messages wait in an outbox (also in localStorage) until the server acknowledges them, and
 * are resent with the same client_id after a reconnect, so nothing is lost or doubled.
 */
(function () {
  "use strict";
  if (window.__parleyWidget) return;
  window.__parleyWidget = true;

  var script = document.currentScript;
  var data = (script && script.dataset) || {};
  var server = (data.server || (script && new URL(script.src).origin) || location.origin).replace(/\/+$/, "");
  var title = data.title || "Chat with us";
  var greeting = data.greeting || "Hi! How can we help you today?";
  var disclosure = data.disclosure || "You're chatting with an automated assistant. Ask for a person at any time.";
  var RATING_AFTER_MS = (Number(data.ratingAfter) || 120) * 1000;
  var MAX_CHARS = 4000;
  var KEY = "parley:" + server;
  var OUTBOX = KEY + ":outbox";
  var UNREAD = KEY + ":unread";   // ids of replies that came while the panel was closed
  var SEEN = KEY + ":seen";       // the highest seq the customer has had in front of them
  var TYPING_TIMEOUT_MS = 90000;
  var AGENT_TYPING_MS = 8000;     // the console repeats "typing" every ~2 s while it lasts
  // The server catches up a reply whose live events were lost; should a reply in flight still
  // hear nothing this long, the widget asks for what it missed itself (resume).
  var SILENT_RESUME_MS = 15000;
  var RATED_MODES = { model: true, quote: true };  // answers worth a thumbs (not canned lines)

  // ---- storage ---------------------------------------------------------------------------
  function load(key, fallback) {
    try { var v = localStorage.getItem(key); return v ? JSON.parse(v) : fallback; } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* private mode: memory only */ }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var identity = readIdentity();       // known customers: see "signed-in customers" below
  var conv = load(KEY, null);          // {id, token, user?}
  // A conversation of another signed-in customer (or of one who signed out) is not theirs.
  if (conv && conv.user && conv.user !== (identity && identity.user_id)) { conv = null; save(KEY, null); }
  var outbox = load(OUTBOX, []);       // [{client_id, text}]
  var unread = load(UNREAD, []);
  var seenSeq = load(SEEN, 0);
  var messages = {};                   // id -> {data, el, textEl}
  var socket = null, backoff = 500, reconnectTimer = null, typingTimer = null, creating = null, resuming = null;
  var agentTyping = null, agentTypingTimer = null, idleTimer = null, askHuman = false;
  var state = { answered: false, waiting: false, human: false };

  // ---- DOM ---------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.id = "parley-widget";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("style");
  // Colours meet WCAG 2.1 AA: text 4.5:1, controls and focus rings 3:1 against what is behind them.
  css.textContent = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}",
    "svg{width:20px;height:20px;fill:currentColor;display:block}",
    "button{font:inherit}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#1a56db;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000;display:flex;align-items:center;justify-content:center}",
    ".launcher svg{width:28px;height:28px}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#b91c1c;color:#fff;font-size:13px;font-weight:700;line-height:22px;text-align:center;border:2px solid #fff}",
    ".badge[hidden]{display:none}",
    "button:focus-visible,textarea:focus-visible,a:focus-visible,.log:focus-visible{outline:3px solid #1e3a8a;outline-offset:2px}",
    ".head button:focus-visible{outline-color:#fff}",
    ".panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:540px;max-height:calc(100vh - 110px);background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;z-index:2147483001}",
    ".panel[hidden]{display:none}",
    ".head{background:#1a56db;color:#fff;padding:10px 8px 10px 14px;display:flex;align-items:center;justify-content:space-between}",
    ".head h2{font-size:16px;margin:0}",
    ".close{background:transparent;border:0;color:#fff;cursor:pointer;padding:6px;border-radius:6px}",
    ".status{font-size:13px;padding:4px 14px;background:#fef3c7;color:#92400e}",
    ".status:empty{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;font-size:15px;line-height:1.4;margin:0}",
    ".customer{align-self:flex-end;background:#1a56db;color:#fff;border-bottom-right-radius:3px}",
    ".assistant,.agent{align-self:flex-start;background:#e5e7eb;color:#111;border-bottom-left-radius:3px}",
    ".agent{background:#dcfce7}",
    ".msg[hidden]{display:none}",
    ".system{align-self:center;max-width:95%;background:transparent;color:#4b5563;font-size:13px;text-align:center;padding:2px 8px}",
    ".who{display:block;font-size:12px;font-weight:600;margin-bottom:2px;color:#374151}",
    ".customer .who{color:#fff}.agent .who{color:#166534}",
    ".disclosure{align-self:center;color:#4b5563;font-size:13px;text-align:center;margin:0 8px}",
    ".sending{opacity:.8}",
    ".failed{border:1px solid #b91c1c}",
    ".sources{display:block;font-size:13px;margin-top:4px;color:#374151}.sources a{color:#1e40af}",
    ".fb{display:flex;gap:4px;margin-top:4px}.fb button{background:none;border:1px solid transparent;border-radius:6px;cursor:pointer;padding:2px 4px;color:#4b5563}",
    ".fb svg{width:18px;height:18px}",
    ".fb button[aria-pressed=true]{border-color:#1a56db;background:#dbeafe;color:#1e40af}",
    ".rate{align-self:center;font-size:14px;color:#374151;text-align:center}",
    ".rate div{display:flex;justify-content:center}.rate button{background:none;border:0;cursor:pointer;color:#b45309;padding:2px}",
    ".rate svg{width:26px;height:26px}",
    ".typing{color:#4b5563;font-size:13px;padding:4px 14px 0}",
    ".typing:empty{display:none}",
    ".bar{display:flex;justify-content:flex-end;padding:6px 10px 0}",
    ".bar[hidden]{display:none}",
    ".human{background:#fff;color:#1a56db;border:1px solid #1a56db;border-radius:16px;padding:4px 12px;font-size:14px;cursor:pointer}",
    ".human:disabled{cursor:default;color:#4b5563;border-color:#6b7280}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}",
    // 16px: smaller text makes iOS zoom in on focus.
    "textarea{flex:1;resize:none;height:44px;padding:10px;border:1px solid #6b7280;border-radius:8px;font-size:16px;color:#111;background:#fff}",
    "textarea::placeholder{color:#6b7280}",
    ".send{background:#1a56db;color:#fff;border:0;border-radius:8px;padding:0 12px;cursor:pointer}",
    ".stop{background:#fff;color:#1a56db;border:1px solid #1a56db;border-radius:8px;padding:0 10px;font-size:14px;cursor:pointer}",
    ".stop[hidden]{display:none}",
    ".hint{font-size:13px;color:#b91c1c;padding:0 12px 6px}",
    ".hint:empty{display:none}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    ".contact{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:6px;color:#374151}",
    ".contact input{flex:1;min-width:150px;padding:6px 8px;border:1px solid #6b7280;border-radius:6px;font-size:16px}",
    ".contact button{background:#1a56db;color:#fff;border:0;border-radius:6px;padding:6px 10px;cursor:pointer}",
    ".contact .err{flex-basis:100%;color:#b91c1c}.contact .err:empty{display:none}",
    "@media (max-width:480px){.panel{inset:0;right:0;bottom:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0}}"
  ].join("\n");
  root.appendChild(css);

  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  // Inline SVG paths (Material icons): no icon font, no emoji font needed.
  var ICONS = {
    chat: "M20 2H4c-1.1 0-2 .9-2 2v18l4-4h14c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2z",
    close: "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z",
    send: "M2.01 21 23 12 2.01 3 2 10l15 2-15 2z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    star: "M12 17.27 18.18 21l-1.64-7.03L22 9.24l-7.19-.61L12 2 9.19 8.63 2 9.24l5.46 4.73L5.82 21z"
  };
  function icon(name, rotate) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    if (rotate) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  var launcher = el("button", "launcher", { type: "button", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "parley-panel" });
  var badge = el("span", "badge", { "aria-hidden": "true" });
  launcher.appendChild(icon("chat")); launcher.appendChild(badge);
  var panel = el("section", "panel", { id: "parley-panel", role: "dialog", "aria-label": title });
  panel.hidden = true;
  var head = el("div", "head");
  var h2 = el("h2"); h2.textContent = title;
  var closeBtn = el("button", "close", { type: "button", "aria-label": "Close chat" });
  closeBtn.appendChild(icon("close"));
  head.appendChild(h2); head.appendChild(closeBtn);
  var status = el("div", "status", { role: "status", "aria-live": "polite" });
  var log = el("div", "log", { role: "log", "aria-live": "polite", "aria-relevant": "additions text", tabindex: "0", "aria-label": "Conversation" });
  var intro = el("p", "msg assistant greeting");
  intro.textContent = greeting;
  var disclosureEl = el("p", "disclosure");
  disclosureEl.textContent = disclosure;
  log.appendChild(intro); log.appendChild(disclosureEl);
  var typing = el("div", "typing", { role: "status", "aria-label": "Typing indicator" });
  var bar = el("div", "bar");
  var human = el("button", "human", { type: "button" });
  human.textContent = "Talk to a person";
  bar.appendChild(human);
  var form = el("form", "", { "aria-label": "Send a message" });
  var label = el("label", "sr", { for: "parley-input" }); label.textContent = "Your message";
  var input = el("textarea", "", { id: "parley-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: "Type your message\u2026" });
  var send = el("button", "send", { type: "submit", "aria-label": "Send" });
  send.appendChild(icon("send"));
  var stop = el("button", "stop", { type: "button", "aria-label": "Stop generating" }); stop.textContent = "Stop";
  stop.hidden = true;
  var hint = el("div", "hint", { role: "alert" });
  form.appendChild(label); form.appendChild(input); form.appendChild(stop); form.appendChild(send);
  [head, status, log, typing, bar, hint, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher); root.appendChild(panel);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  function setOpen(open) {
    var wasOpen = !panel.hidden;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) { markSeen(); input.focus(); scrollDown(); if (conv) connect(); }
    else {
      // Leaving after an answer is the end of the conversation for many: ask how it went.
      if (wasOpen) offerRating();
      launcher.focus();
    }
    updateBadge();
  }
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });
  stop.addEventListener("click", function () {
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "stop" }));
    input.focus();
  });
  human.addEventListener("click", function () {
    askHuman = true;
    human.disabled = true;
    ensureConversation().then(function () {
      if (socket && socket.readyState === 1) sendHandoff(); else connect();
    }, retryLater);
  });
  function sendHandoff() {
    if (!askHuman || !socket || socket.readyState !== 1) return;
    askHuman = false;
    socket.send(JSON.stringify({ type: "handoff" }));
    // Asking again is harmless (the server changes nothing); the notice hides the button.
    setTimeout(function () { human.disabled = false; }, 4000);
  }

  // ---- unread badge ---------------------------------------------------------------------------
  function markSeen() {
    for (var id in messages) if (isFinal(messages[id].data)) seenSeq = Math.max(seenSeq, messages[id].data.seq || 0);
    save(SEEN, seenSeq);
    unread = []; save(UNREAD, unread);
  }
  function noteArrival(m) {
    if (m.role !== "assistant" && m.role !== "agent") return;
    if (!panel.hidden) { seenSeq = Math.max(seenSeq, m.seq || 0); save(SEEN, seenSeq); return; }
    if (m.seq > seenSeq && unread.indexOf(m.id) < 0) { unread.push(m.id); save(UNREAD, unread); updateBadge(); }
  }
  function updateBadge() {
    var n = panel.hidden ? unread.length : 0;
    badge.textContent = n ? String(n) : "";
    badge.hidden = !n;
    var open = !panel.hidden;
    launcher.setAttribute("aria-label", open ? "Close chat" : n ? "Open chat, " + n + " unread message" + (n > 1 ? "s" : "") : "Open chat");
  }

  // ---- rendering --------------------------------------------------------------------------
  var ROLE_NAMES = { customer: "You", assistant: "Assistant", agent: "Support team" };

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function render(m) {
    var entry = messages[m.id];
    var wasFinal = entry && isFinal(entry.data);
    if (!entry) {
      var box = el("div", "msg " + m.role);
      var who = el("span", "who");
      var text = el("span", "text");
      if (m.role !== "system") box.appendChild(who);
      box.appendChild(text);
      entry = messages[m.id] = { data: m, el: box, whoEl: who, textEl: text, sourcesEl: null };
      place(entry);
    }
    entry.data = m;
    entry.whoEl.textContent = (m.role === "agent" && m.author_name) || ROLE_NAMES[m.role] || "";
    entry.textEl.textContent = m.text;
    if (m.role === "system" && m.mode === "offline") offerContactEmail(entry);
    entry.el.classList.toggle("failed", m.status === "failed");
    entry.el.classList.toggle("sending", false);
    entry.el.hidden = m.role === "assistant" && !m.text && !isFinal(m);
    // A reply being streamed is busy: screen readers read it once, whole, when it is final.
    if (isFinal(m)) entry.el.removeAttribute("aria-busy"); else entry.el.setAttribute("aria-busy", "true");
    if (m.role === "assistant" && m.status === "complete" && m.text && RATED_MODES[m.mode] && !entry.fbEl) {
      entry.fbEl = el("span", "fb", { role: "group", "aria-label": "Was this helpful?" });
      [[1, false, "Helpful"], [-1, true, "Not helpful"]].forEach(function (f) {
        var b = el("button", "", { type: "button", "aria-label": f[2], "aria-pressed": "false" });
        b.appendChild(icon("up", f[1]));
        b.addEventListener("click", function () {
          if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "feedback", message_id: m.id, value: f[0] }));
          Array.prototype.forEach.call(entry.fbEl.children, function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        });
        entry.fbEl.appendChild(b);
      });
      entry.el.appendChild(entry.fbEl);
    }
    if (m.sources && m.sources.length && m.status === "complete") {
      if (!entry.sourcesEl) { entry.sourcesEl = el("span", "sources"); entry.el.appendChild(entry.sourcesEl); }
      // A source with an http(s) address is a link to the article; text only ever goes into
      // textContent, and the address must be http(s), never javascript:.
      entry.sourcesEl.textContent = "Source: ";
      m.sources.forEach(function (s, i) {
        if (i) entry.sourcesEl.appendChild(document.createTextNode(", "));
        var link = /^https?:\/\//.test(s.url || "") ? el("a") : el("span");
        if (link.tagName === "A") { link.href = s.url; link.target = "_blank"; link.rel = "noopener noreferrer"; }
        link.textContent = s.title;
        entry.sourcesEl.appendChild(link);
      });
    }
    if (isFinal(m) && !wasFinal) {
      noteArrival(m);
      if (m.role === "agent") agentTyping = null;
    }
    updateState();
    updateTyping();
    scrollDown();
    return entry;
  }

  function ordered() {
    return Object.keys(messages).map(function (id) { return messages[id].data; })
      .sort(function (a, b) { return (a.seq || Infinity) - (b.seq || Infinity); });
  }

  // Who has the conversation, read from what it holds: a notice with ``handoff`` set means a
  // person has it (with a name: they joined) or is asked for (without); one with a name and no
  // ``handoff`` means they left; an agent's message means they are here.
  function updateState() {
    var s = { answered: false, waiting: false, human: false };
    ordered().forEach(function (m) {
      if (m.role === "agent") { s.answered = true; s.waiting = false; s.human = true; }
      else if (m.role === "system" && m.mode === "notice") {
        if (m.handoff) { s.human = !!m.author_name; s.waiting = !m.author_name; }
        else if (m.author_name) { s.human = false; s.waiting = false; }
      } else if (m.role === "assistant" && isFinal(m)) {
        if (m.handoff && !s.human) s.waiting = true;
        if (m.status === "complete" && RATED_MODES[m.mode]) s.answered = true;
      }
    });
    state = s;
    bar.hidden = s.waiting || s.human;
    if (s.waiting) { clearTimeout(idleTimer); if (rateEl && !rated()) { rateEl.remove(); rateEl = null; } }
    else if (s.answered) { clearTimeout(idleTimer); idleTimer = setTimeout(offerRating, RATING_AFTER_MS); }
  }

  var rateEl = null;
  function rated() { return conv && load(KEY + ":rated:" + conv.id, false); }
  // Offered once the conversation has had an answer and goes quiet or the customer leaves;
  // never while they wait for a person, and not again once rated.
  function offerRating() {
    if (rateEl || !conv || rated() || !state.answered || state.waiting || replyInFlight(false)) return;
    rateEl = el("div", "rate", { role: "group", "aria-label": "Rate this conversation" });
    rateEl.appendChild(document.createTextNode("How did we do?"));
    var stars = el("div");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "", { type: "button", "aria-label": n + " star" + (n > 1 ? "s" : "") });
      b.appendChild(icon("star"));
      b.addEventListener("click", function () {
        if (!socket || socket.readyState !== 1) return;
        socket.send(JSON.stringify({ type: "rate", stars: n }));
        save(KEY + ":rated:" + conv.id, true);
        rateEl.textContent = "Thanks for your rating!";
      });
      stars.appendChild(b);
    });
    rateEl.appendChild(stars);
    log.appendChild(rateEl);
    scrollDown();
  }

  function place(entry) {
    // Keep the log in seq order; unsent messages stay last.
    var seq = entry.data.seq || Infinity;
    entry.el.dataset.seq = seq;
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (c.dataset.pending || Number(c.dataset.seq) > seq) { log.insertBefore(entry.el, c); return; }
    }
    log.appendChild(entry.el);
  }

  function renderOutbox() {
    Array.prototype.slice.call(log.querySelectorAll("[data-pending]")).forEach(function (n) { n.remove(); });
    outbox.forEach(function (item) {
      var box = el("div", "msg customer sending", { "data-pending": item.client_id });
      var who = el("span", "who"); who.textContent = "You \u00B7 sending\u2026";
      var text = el("span", "text"); text.textContent = item.text;
      box.appendChild(who); box.appendChild(text);
      log.appendChild(box);
    });
    scrollDown();
  }

  function replyInFlight(emptyOnly) {
    for (var id in messages) {
      var m = messages[id].data;
      if (m.role === "assistant" && !isFinal(m) && (!emptyOnly || !m.text)) return true;
    }
    return false;
  }

  function updateTyping() {
    var bot = replyInFlight(true);
    var who = agentTyping ? agentTyping + " is typing\u2026" : bot ? "The assistant is typing\u2026" : "";
    if (typing.textContent !== who) typing.textContent = who;
    stop.hidden = !replyInFlight(false);
    clearTimeout(typingTimer);
    if (bot) typingTimer = setTimeout(function () { typing.textContent = ""; }, TYPING_TIMEOUT_MS);
  }

  function setStatus(text) { status.textContent = text; }

  // ---- protocol -------------------------------------------------------------------------------
  function isFinal(m) { return m.status === "complete" || m.status === "failed"; }

  function lastFinalSeq() {
    // Resume from before the first unfinished message, so its final version is replayed.
    var max = 0, firstOpen = Infinity;
    for (var id in messages) {
      var m = messages[id].data;
      if (!isFinal(m)) firstOpen = Math.min(firstOpen, m.seq);
      else max = Math.max(max, m.seq);
    }
    return firstOpen === Infinity ? max : firstOpen - 1;
  }

  function expectReply(id, seq) {
    if (id && !messages[id]) render({ id: id, seq: seq, role: "assistant", text: "", status: "pending", sources: [] });
  }

  function onFrame(frame) {
    if (frame.type === "ack") {
      outbox = outbox.filter(function (o) { return o.client_id !== frame.client_id; });
      save(OUTBOX, outbox);
      renderOutbox();
      render(frame.message);
      // A newer message supersedes a reply that had not started: the server dropped it.
      for (var id in messages) {
        var m = messages[id].data;
        if (m.role === "assistant" && m.status === "pending" && !m.text && id !== frame.reply_id) {
          messages[id].el.remove(); delete messages[id];
        }
      }
      expectReply(frame.reply_id, frame.message.seq + 1);
      updateTyping();
    } else if (frame.type === "message") {
      // A copy older than what is shown (a replay crossing the live final message) never
      // takes a final reply back to streaming, nor streamed text back.
      var shown = messages[frame.message.id];
      if (shown && isFinal(shown.data) && !isFinal(frame.message)) return;
      if (shown && !isFinal(frame.message) && (shown.data.text || "").length > (frame.message.text || "").length) return;
      render(frame.message);
      expectReply(frame.reply_id, frame.message.seq + 1);  // after a hand-back notice
    } else if (frame.type === "delta") {
      var entry = messages[frame.message_id];
      if (!entry) {
        if (frame.offset !== 0) return; // joined mid-stream: the final message will fill it in
        entry = render({ id: frame.message_id, seq: Infinity, role: "assistant", text: "", status: "streaming", sources: [] });
      }
      var current = entry.data.text || "";
      var end = frame.offset + frame.text.length;
      if (frame.offset <= current.length && end > current.length) {
        var d = entry.data;
        render({ id: d.id, seq: d.seq, role: d.role, text: current + frame.text.slice(current.length - frame.offset), status: "streaming", sources: d.sources || [], grounded: d.grounded, handoff: d.handoff, mode: d.mode, created_at: d.created_at });
      }
    } else if (frame.type === "typing") {
      clearTimeout(agentTypingTimer);
      agentTyping = frame.active ? frame.name || ROLE_NAMES.agent : null;
      if (agentTyping) agentTypingTimer = setTimeout(function () { agentTyping = null; updateTyping(); }, AGENT_TYPING_MS);
      updateTyping();
    } else if (frame.type === "error" && frame.code === "rate_limited") {
      // Keep the message in the outbox and send it again once the limit has passed.
      hint.textContent = frame.detail;
      setTimeout(function () {
        outbox.forEach(function (o) { if (o.client_id === frame.client_id && socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "message", text: o.text, client_id: o.client_id })); });
      }, (frame.retry_after || 5) * 1000);
    } else if (frame.type === "error") {
      if (frame.client_id) {
        outbox = outbox.filter(function (o) { return o.client_id !== frame.client_id; });
        save(OUTBOX, outbox);
        renderOutbox();
      }
      hint.textContent = frame.detail || "Something went wrong.";
    }
  }

  function ensureConversation() {
    if (conv) return Promise.resolve(conv);
    if (resuming) return resuming.then(ensureConversation);
    if (creating) return creating;
    creating = startConversation().then(function (data) {
      conv = { id: data.id, token: data.token, user: data.user };
      save(KEY, conv);
      creating = null;
      return conv;
    }, function (err) { creating = null; throw err; });
    return creating;
  }

  function wsUrl() {
    var base = server.replace(/^http/, "ws");
    return base + "/ws/conversations/" + encodeURIComponent(conv.id) + "/?token=" + encodeURIComponent(conv.token);
  }

  function connect() {
    if (!conv || (socket && socket.readyState <= 1)) return;
    clearTimeout(reconnectTimer);
    var ws = socket = new WebSocket(wsUrl());
    ws.onopen = function () {
      backoff = 500;
      lastFrameAt = Date.now();
      setStatus("");
      ws.send(JSON.stringify({ type: "resume", after: lastFinalSeq() }));
      outbox.forEach(function (o) { ws.send(JSON.stringify({ type: "message", text: o.text, client_id: o.client_id })); });
      sendHandoff();
    };
    ws.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      lastFrameAt = Date.now();
      onFrame(frame);
    };
    ws.onclose = function (ev) {
      if (socket !== ws) return;
      socket = null;
      if (ev.code === 4401 || ev.code === 4404) {
        // The conversation is gone (expired or deleted): start a new one, keep unsent text.
        conv = null; save(KEY, null);
        for (var id in messages) messages[id].el.remove();
        messages = {};
        unread = []; save(UNREAD, unread); seenSeq = 0; save(SEEN, 0); updateBadge();
        if (rateEl) { rateEl.remove(); rateEl = null; }
        updateState();
        if (outbox.length) ensureConversation().then(connect, retryLater);
        return;
      }
      retryLater();
    };
  }

  var lastFrameAt = Date.now();
  setInterval(function () {
    if (!socket || socket.readyState !== 1 || !replyInFlight(false)) return;
    if (Date.now() - lastFrameAt < SILENT_RESUME_MS) return;
    lastFrameAt = Date.now();
    socket.send(JSON.stringify({ type: "resume", after: lastFinalSeq() }));
  }, 5000);

  function retryLater() {
    setStatus("Reconnecting\u2026 your messages are kept and will be sent.");
    clearTimeout(reconnectTimer);
    var delay = backoff * (0.75 + Math.random() * 0.5);
    backoff = Math.min(backoff * 2, 15000);
    reconnectTimer = setTimeout(function () {
      if (conv) connect(); else ensureConversation().then(connect, retryLater);
    }, delay);
  }
  window.addEventListener("online", function () { backoff = 500; if (conv) connect(); });

  function submit() {
    var text = input.value.trim();
    hint.textContent = "";
    if (!text) return;
    if (text.length > MAX_CHARS) { hint.textContent = "Messages can be at most " + MAX_CHARS + " characters."; return; }
    var item = { client_id: uuid(), text: text };
    outbox.push(item);
    save(OUTBOX, outbox);
    input.value = "";
    clearTimeout(idleTimer);
    renderOutbox();
    ensureConversation().then(function () {
      if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "message", text: item.text, client_id: item.client_id }));
      else connect();
    }, retryLater);
  }

  // ---- signed-in customers (identity verification; docs/deployment.md) -------------------
  // The host page passes its signed-in customer as data-user-id, data-user-name,
  // data-user-email and data-user-hash on the script tag, or as window.ParleySettings.identity
  // = {user_id, name, email, user_hash}; user_hash is the HMAC its server computed. Their open
  // conversation follows them to this device; an identity the server refuses (400/403) leaves
  // an anonymous conversation.
  function readIdentity() {
    var given = (window.ParleySettings && window.ParleySettings.identity) || {};
    var d = (script && script.dataset) || {};
    var id = given.user_id || d.userId;
    if (!id) return null;
    return { user_id: String(id), name: given.name || d.userName || "", email: given.email || d.userEmail || "", user_hash: given.user_hash || d.userHash || "" };
  }
  function postJson(path, body, token) {
    var headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(server + path, { method: "POST", headers: headers, body: JSON.stringify(body) });
  }
  function json(r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); }
  function startConversation() {
    var origin = location.href.slice(0, 300);
    if (!identity) return postJson("/api/conversations/", { origin: origin }).then(json);
    var user = identity.user_id;
    return postJson("/api/conversations/resume/", { identity: identity, origin: origin }).then(function (r) {
      if (r.status !== 400 && r.status !== 403) return json(r).then(function (data) { data.user = user; return data; });
      identity = null;
      return postJson("/api/conversations/", { origin: origin }).then(json);
    });
  }
  function resumeOpenConversation() {
    var user = identity.user_id;
    resuming = postJson("/api/conversations/resume/", { identity: identity, origin: location.href.slice(0, 300), create: false })
      .then(function (r) { return r.status === 200 ? r.json() : null; })
      .then(null, function () { return null; })
      .then(function (data) {
        resuming = null;
        if (!data || conv) return;
        conv = { id: data.id, token: data.token, user: user };
        save(KEY, conv);
        connect();
      });
  }

  // ---- out of hours: leave an email under the team's offline notice ----------------------
  function offerContactEmail(entry) {
    if (entry.contactEl || !conv || load(KEY + ":contact:" + conv.id, false)) return;
    var n = entry.data.id.slice(0, 8);
    var f = entry.contactEl = el("form", "contact", { "aria-label": "Leave your email" });
    var lab = el("label", "", { for: "parley-contact-" + n }); lab.textContent = "Your email";
    var field = el("input", "", { id: "parley-contact-" + n, type: "email", autocomplete: "email", required: "", maxlength: "254" });
    var btn = el("button", "", { type: "submit" }); btn.textContent = "Send email";
    var err = el("span", "err", { role: "alert" });
    f.appendChild(lab); f.appendChild(field); f.appendChild(btn); f.appendChild(err);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      err.textContent = "";
      postJson("/api/conversations/" + encodeURIComponent(conv.id) + "/contact/", { email: field.value }, conv.token)
        .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { err.textContent = (res.body.error && res.body.error.detail) || "Please check the address."; return; }
          save(KEY + ":contact:" + conv.id, true);
          f.remove();
          render(res.body.message);
        }, function () { err.textContent = "Could not send it; please try again."; });
    });
    entry.el.appendChild(f);
  }

  // Expose a tiny API for the host page and for tests.
  window.Parley = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    conversation: function () { return conv && conv.id; }
  };

  updateBadge();
  renderOutbox();
  if (conv || outbox.length) ensureConversation().then(connect, retryLater);
  else if (identity) resumeOpenConversation();
})();
