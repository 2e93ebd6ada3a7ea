/*
 * Parley chat widget. Embed with one tag:
 *   <script src="https://support.example.com/static/widget/widget.js"
 *           data-server="https://support.example.com" defer></script>
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
  var server = ((script && script.dataset.server) || (script && new URL(script.src).origin) || location.origin).replace(/\/+$/, "");
  var title = (script && script.dataset.title) || "Chat with us";
  var MAX_CHARS = 4000;
  var KEY = "parley:" + server;
  var OUTBOX = KEY + ":outbox";
  var TYPING_TIMEOUT_MS = 90000;
  // The server catches up a reply whose live events were lost; should a reply in flight still
  // hear nothing this long, the widget asks for what it missed itself (resume).
  var SILENT_RESUME_MS = 15000;

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
  var messages = {};                   // id -> {data, el, textEl}
  var socket = null, backoff = 500, reconnectTimer = null, typingTimer = null, creating = null, resuming = null;

  // ---- DOM ---------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.id = "parley-widget";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("style");
  css.textContent = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;background:#1a56db;color:#fff;font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    ".launcher:focus-visible,button:focus-visible,textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".panel{position:fixed;right:20px;bottom:88px;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);background:#fff;color:#111;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);display:flex;flex-direction:column;overflow:hidden;z-index:2147483000}",
    ".panel[hidden]{display:none}",
    ".head{background:#1a56db;color:#fff;padding:12px 14px;display:flex;align-items:center;justify-content:space-between}",
    ".head h2{font-size:16px;margin:0}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer;line-height:1}",
    ".status{font-size:12px;padding:4px 14px;background:#fef3c7;color:#92400e}",
    ".status:empty{display:none}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;font-size:14px;line-height:1.4}",
    ".customer{align-self:flex-end;background:#1a56db;color:#fff;border-bottom-right-radius:3px}",
    ".assistant,.agent{align-self:flex-start;background:#e5e7eb;color:#111;border-bottom-left-radius:3px}",
    ".agent{background:#dcfce7}",
    ".system{align-self:center;background:transparent;color:#6b7280;font-size:12px}",
    ".who{display:block;font-size:11px;opacity:.75;margin-bottom:2px}",
    ".sending{opacity:.6}",
    ".failed{border:1px solid #dc2626}",
    ".sources{display:block;font-size:11px;margin-top:4px;color:#374151}",
    ".fb{display:block;margin-top:4px}.fb button{background:none;border:1px solid transparent;border-radius:6px;cursor:pointer;font-size:13px;padding:0 4px}",
    ".fb button[aria-pressed=true]{border-color:#1a56db;background:#dbeafe}",
    ".rate{align-self:center;font-size:12px;color:#374151;text-align:center}.rate button{background:none;border:0;font-size:18px;cursor:pointer;color:#f59e0b;padding:0 1px}",
    ".typing{align-self:flex-start;color:#6b7280;font-size:13px;padding:2px 4px}",
    ".typing[hidden]{display:none}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}",
    "textarea{flex:1;resize:none;height:42px;padding:9px;border:1px solid #d1d5db;border-radius:8px;font-size:14px}",
    ".send{background:#1a56db;color:#fff;border:0;border-radius:8px;padding:0 14px;font-size:14px;cursor:pointer}",
    ".stop{background:#fff;color:#1a56db;border:1px solid #1a56db;border-radius:8px;padding:0 10px;font-size:13px;cursor:pointer}",
    ".stop[hidden]{display:none}",
    ".hint{font-size:11px;color:#b91c1c;padding:0 12px 6px}",
    ".hint:empty{display:none}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}"
  ].join("\n");
  root.appendChild(css);

  function el(tag, cls, attrs) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }

  var launcher = el("button", "launcher", { type: "button", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "parley-panel" });
  launcher.textContent = "\uD83D\uDCAC";
  var panel = el("section", "panel", { id: "parley-panel", role: "dialog", "aria-label": title });
  panel.hidden = true;
  var head = el("div", "head");
  var h2 = el("h2"); h2.textContent = title;
  var closeBtn = el("button", "close", { type: "button", "aria-label": "Close chat" });
  closeBtn.textContent = "\u00D7";
  head.appendChild(h2); head.appendChild(closeBtn);
  var status = el("div", "status", { role: "status", "aria-live": "polite" });
  var log = el("div", "log", { role: "log", "aria-live": "polite", "aria-relevant": "additions text", tabindex: "0", "aria-label": "Conversation" });
  var typing = el("div", "typing", { "aria-label": "The assistant is typing" });
  typing.textContent = "Assistant is typing\u2026";
  typing.hidden = true;
  var form = el("form", "", { "aria-label": "Send a message" });
  var label = el("label", "sr", { for: "parley-input" }); label.textContent = "Your message";
  var input = el("textarea", "", { id: "parley-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: "Type your message\u2026" });
  var send = el("button", "send", { type: "submit" }); send.textContent = "Send";
  var stop = el("button", "stop", { type: "button", "aria-label": "Stop generating" }); stop.textContent = "Stop";
  stop.hidden = true;
  var hint = el("div", "hint", { role: "alert" });
  form.appendChild(label); form.appendChild(input); form.appendChild(stop); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(status); panel.appendChild(log); panel.appendChild(hint); panel.appendChild(form);
  log.appendChild(typing);
  root.appendChild(launcher); root.appendChild(panel);

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    if (open) { input.focus(); scrollDown(); if (conv) connect(); }
    else launcher.focus();
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

  // ---- rendering --------------------------------------------------------------------------
  var ROLE_NAMES = { customer: "You", assistant: "Assistant", agent: "Support team", system: "" };

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function render(m) {
    var entry = messages[m.id];
    if (!entry) {
      var box = el("div", "msg " + m.role);
      var who = el("span", "who"); who.textContent = ROLE_NAMES[m.role] || "";
      var text = el("span", "text");
      box.appendChild(who); box.appendChild(text);
      entry = messages[m.id] = { data: m, el: box, textEl: text, sourcesEl: null };
      place(entry);
    }
    entry.data = m;
    entry.textEl.textContent = m.text;
    if (m.role === "system" && m.mode === "offline") offerContactEmail(entry);
    entry.el.classList.toggle("failed", m.status === "failed");
    entry.el.classList.toggle("sending", false);
    entry.el.hidden = m.role === "assistant" && !m.text && (m.status === "pending" || m.status === "streaming");
    if (m.role === "assistant" && m.status === "complete" && m.text && !entry.fbEl) {
      entry.fbEl = el("span", "fb");
      [[1, "\uD83D\uDC4D", "Helpful"], [-1, "\uD83D\uDC4E", "Not helpful"]].forEach(function (f) {
        var b = el("button", "", { type: "button", "aria-label": f[2], "aria-pressed": "false" });
        b.textContent = f[1];
        b.addEventListener("click", function () {
          if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "feedback", message_id: m.id, value: f[0] }));
          Array.prototype.forEach.call(entry.fbEl.children, function (x) { x.setAttribute("aria-pressed", String(x === b)); });
        });
        entry.fbEl.appendChild(b);
      });
      entry.el.appendChild(entry.fbEl);
    }
    if (m.role !== "customer" && m.status === "complete") showRating();
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
    updateTyping();
    scrollDown();
    return entry;
  }

  var rateEl = null;
  function showRating() {
    if (rateEl || !conv) return;
    rateEl = el("div", "rate", { role: "group", "aria-label": "Rate this conversation" });
    if (load(KEY + ":rated:" + conv.id, false)) { rateEl.textContent = "Thanks for your rating!"; log.insertBefore(rateEl, typing); return; }
    rateEl.appendChild(document.createTextNode("How did we do? "));
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "", { type: "button", "aria-label": n + " star" + (n > 1 ? "s" : "") });
      b.textContent = "\u2605";
      b.addEventListener("click", function () {
        if (!socket || socket.readyState !== 1) return;
        socket.send(JSON.stringify({ type: "rate", stars: n }));
        save(KEY + ":rated:" + conv.id, true);
        rateEl.textContent = "Thanks for your rating!";
      });
      rateEl.appendChild(b);
    });
    log.insertBefore(rateEl, typing);
  }

  function place(entry) {
    // Keep the log in seq order; unsent messages and the typing indicator stay last.
    var seq = entry.data.seq || Infinity;
    var children = log.children;
    for (var i = 0; i < children.length; i++) {
      var c = children[i];
      if (c === typing || c === rateEl || c.dataset.pending || Number(c.dataset.seq) > seq) { log.insertBefore(entry.el, c); entry.el.dataset.seq = seq; return; }
    }
    entry.el.dataset.seq = seq;
    log.appendChild(entry.el);
  }

  function renderOutbox() {
    Array.prototype.slice.call(log.querySelectorAll("[data-pending]")).forEach(function (n) { n.remove(); });
    outbox.forEach(function (item) {
      var box = el("div", "msg customer sending", { "data-pending": item.client_id });
      var who = el("span", "who"); who.textContent = "You \u00B7 sending\u2026";
      var text = el("span", "text"); text.textContent = item.text;
      box.appendChild(who); box.appendChild(text);
      log.insertBefore(box, typing);
    });
    scrollDown();
  }

  function replyInFlight(emptyOnly) {
    for (var id in messages) {
      var m = messages[id].data;
      if (m.role === "assistant" && (m.status === "pending" || m.status === "streaming") && (!emptyOnly || !m.text)) return true;
    }
    return false;
  }

  function updateTyping() {
    var show = replyInFlight(true);
    typing.hidden = !show;
    stop.hidden = !replyInFlight(false);
    clearTimeout(typingTimer);
    if (show) typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_TIMEOUT_MS);
  }

  function setStatus(text) { status.textContent = text; }

  // ---- protocol -------------------------------------------------------------------------------
  function isFinal(m) { return m.status === "complete" || m.status === "failed"; }

  function lastFinalSeq() {
    // Resume from before the first unfinished message, so its final version is replayed.
    var max = 0, firstOpen = Infinity;
    for (var id in messages) {
      var m = messages[id].data;
      if (m.status === "pending" || m.status === "streaming") firstOpen = Math.min(firstOpen, m.seq);
      else max = Math.max(max, m.seq);
    }
    return firstOpen === Infinity ? max : firstOpen - 1;
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
      if (frame.reply_id && !messages[frame.reply_id]) {
        render({ id: frame.reply_id, seq: frame.message.seq + 1, role: "assistant", text: "", status: "pending", sources: [] });
      }
    } else if (frame.type === "message") {
      // A copy older than what is shown (a replay crossing the live final message) never
      // takes a final reply back to streaming, nor streamed text back.
      var shown = messages[frame.message.id];
      if (shown && isFinal(shown.data) && !isFinal(frame.message)) return;
      if (shown && !isFinal(frame.message) && (shown.data.text || "").length > (frame.message.text || "").length) return;
      render(frame.message);
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
        render({ id: d.id, seq: d.seq, role: d.role, text: current + frame.text.slice(current.length - frame.offset), status: "streaming", sources: d.sources || [], grounded: d.grounded, handoff: d.handoff, created_at: d.created_at });
      }
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
        if (rateEl) { rateEl.remove(); rateEl = null; }
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
  var contactCss = document.createElement("style");
  contactCss.textContent = ".contact{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin-top:6px;color:#374151}" +
    ".contact input{flex:1;min-width:150px;padding:6px 8px;border:1px solid #6b7280;border-radius:6px;font-size:16px}" +
    ".contact button{background:#1a56db;color:#fff;border:0;border-radius:6px;padding:6px 10px;cursor:pointer}" +
    ".contact .err{flex-basis:100%;color:#b91c1c}.contact .err:empty{display:none}";
  root.appendChild(contactCss);
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

  renderOutbox();
  if (conv || outbox.length) ensureConversation().then(connect, retryLater);
  else if (identity) resumeOpenConversation();
})();
