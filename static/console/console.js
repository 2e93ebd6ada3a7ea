/* Parley staff console: live inbox, takeover, agent replies, notes, suggestions.
   Text from customers only ever goes into textContent. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var current = null, conversations = {}, messages = {}, socket = null, backoff = 500;

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function api(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.detail) || ("HTTP " + r.status));
        return data;
      });
    });
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function say(text) { $("status").textContent = text; }

  function renderInbox() {
    var list = $("list"); list.textContent = "";
    Object.keys(conversations).map(function (k) { return conversations[k]; }).sort(function (a, b) {
      if (a.needs_human !== b.needs_human) return a.needs_human ? -1 : 1;
      return a.updated_at < b.updated_at ? 1 : -1;
    }).forEach(function (c) {
      var b = el("button", "conv"); b.type = "button"; b.setAttribute("role", "listitem");
      b.dataset.id = c.id;
      b.setAttribute("aria-current", String(current === c.id));
      b.appendChild(el("strong", "", c.id.slice(0, 8) + " "));
      b.appendChild(el("span", "badge " + c.status, c.status.replace("_", " ") + (c.agent ? " · " + c.agent : "")));
      b.appendChild(el("span", "preview", (c.last_role ? c.last_role + ": " : "") + c.last_message));
      b.addEventListener("click", function () { watch(c.id); });
      list.appendChild(b);
    });
  }

  function renderState() {
    var c = conversations[current];
    if (!c) return;
    $("title").textContent = "Conversation " + c.id.slice(0, 8);
    $("state").textContent = c.status.replace("_", " ") + (c.agent ? " · " + c.agent : "");
    $("state").className = "badge " + c.status;
    $("takeover").disabled = c.status === "human";
    $("handback").disabled = c.status !== "human";
    $("suggest").disabled = false; $("reply-input").disabled = false; $("send").disabled = false;
  }

  function renderMessage(m) {
    var entry = messages[m.id];
    if (!entry) {
      var box = el("div", "msg " + m.role);
      var who = el("span", "who"); var text = el("span", "text");
      box.appendChild(who); box.appendChild(text);
      entry = messages[m.id] = { box: box, who: who, text: text, data: m };
      $("log").appendChild(box);
    }
    entry.data = m;
    entry.who.textContent = "#" + m.seq + " " + m.role + " · " + m.status + (m.handoff ? " · handoff" : "") +
      (m.sources && m.sources.length ? " · " + m.sources.map(function (s) { return s.title; }).join(", ") : "");
    entry.text.textContent = m.text;
    $("log").scrollTop = $("log").scrollHeight;
  }

  function renderNote(n) {
    var d = el("div", "note", n.author + ": " + n.text);
    $("note-list").appendChild(d);
  }

  function watch(id) {
    current = id;
    messages = {}; $("log").textContent = ""; $("note-list").textContent = ""; $("suggestions").textContent = "";
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "watch", conversation_id: id }));
    renderInbox();
  }

  function onFrame(f) {
    if (f.type === "inbox") { conversations = {}; f.conversations.forEach(function (c) { conversations[c.id] = c; }); renderInbox(); if (current) watch(current); }
    else if (f.type === "inbox.update") { conversations[f.conversation.id] = f.conversation; renderInbox(); if (f.conversation.id === current) renderState(); }
    else if (f.type === "conversation") { conversations[f.conversation.id] = f.conversation; renderState(); f.messages.forEach(renderMessage); f.notes.forEach(renderNote); }
    else if (f.type === "message") {
      // A copy older than what is shown never takes a final message back to streaming.
      var shown = messages[f.message.id];
      var done = function (m) { return m.status === "complete" || m.status === "failed"; };
      if (!(shown && done(shown.data) && !done(f.message))) renderMessage(f.message);
    }
    else if (f.type === "delta") {
      var e = messages[f.message_id];
      var d = e ? e.data : { id: f.message_id, seq: "…", role: "assistant", status: "streaming", text: "", sources: [] };
      if (f.offset <= d.text.length) { d.text = d.text + f.text.slice(d.text.length - f.offset); d.status = "streaming"; renderMessage(d); }
    }
    else if (f.type === "note" && f.conversation_id === current) { renderNote(f.note); }
    else if (f.type === "suggestions" && f.conversation_id === current) {
      var box = $("suggestions"); box.textContent = "";
      box.appendChild(el("strong", "", "Suggested replies (click to edit):"));
      f.suggestions.forEach(function (s) {
        var b = el("button", "", s); b.type = "button";
        b.addEventListener("click", function () { $("reply-input").value = s; $("reply-input").focus(); });
        box.appendChild(b);
      });
      say("");
    }
  }

  function connect() {
    var ws = socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/staff/");
    ws.onopen = function () { backoff = 500; say(""); };
    ws.onmessage = function (ev) { onFrame(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (ev.code === 4403) { say("Staff only: log in at /admin/ first."); return; }
      say("Reconnecting…");
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000);
    };
  }

  function post(path, body, done) {
    if (!current) return;
    api("/api/staff/conversations/" + current + "/" + path, body).then(done || function () {}, function (e) { say(e.message); });
  }
  $("takeover").addEventListener("click", function () { post("takeover/"); });
  $("handback").addEventListener("click", function () { post("handback/"); });
  $("suggest").addEventListener("click", function () { say("Asking the bot…"); post("suggestions/"); });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-input").value.trim();
    if (!text) return;
    post("messages/", { text: text }, function () { $("reply-input").value = ""; });
  });
  $("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("note-input").value.trim();
    if (!text) return;
    post("notes/", { text: text }, function () { $("note-input").value = ""; });
  });
  connect();
})();
