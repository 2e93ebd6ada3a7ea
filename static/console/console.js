/* Parley staff console: the live inbox (mine / unassigned / all, wait times, unread counts,
   alerts), takeover and hand-back, agent replies with saved replies and drafts, notes.
   Text from customers only ever goes into textContent. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var me = document.body.dataset.user || "", myName = document.body.dataset.userName || me;
  var current = null, conversations = {}, messages = {}, socket = null, backoff = 500, loaded = false;
  var filter = localStorage.getItem("parley.console.filter") || "all";
  var SEEN_KEY = "parley.console.seen." + me;
  var audio = null, alertsOn = false, typingSentAt = 0, typingActive = false;
  var savedReplies = [];
  var INBOX_RESYNC_MS = 15000;

  // --- small helpers --------------------------------------------------------------------------
  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function request(method, path, body) {
    return fetch(path, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.detail) || ("HTTP " + r.status));
        return data;
      });
    });
  }
  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = text; return e; }
  function say(text) { $("status").textContent = text; }
  function clock(iso) { var d = new Date(iso); return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }); }
  function ago(iso) {
    var s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 45) return "just now";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  function span(iso) {
    var m = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60000));
    return m < 1 ? "under a minute" : m < 60 ? m + " min" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function timeEl(iso, text) {
    var t = el("time", "", text); t.dateTime = iso; t.title = new Date(iso).toLocaleString(); return t;
  }
  function status(c) { return c.status.replace("_", " "); }
  function heldByMe(c) { return c && c.status === "human" && c.agent === me; }

  // --- unread counts: the customer messages seen per conversation, per agent, kept across reloads
  function seen() { try { return JSON.parse(localStorage.getItem(SEEN_KEY) || "{}"); } catch (e) { return {}; } }
  function markSeen(c) { var s = seen(); s[c.id] = c.customer_messages; localStorage.setItem(SEEN_KEY, JSON.stringify(s)); }
  function unread(c) { return c.id === current ? 0 : Math.max(0, c.customer_messages - (seen()[c.id] || 0)); }

  // --- alerts: a notification and a short tone when a conversation starts needing a person ----
  function tone() {
    if (!audio) return;
    var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
    osc.frequency.value = 880; gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02); gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.35);
    osc.connect(gain); gain.connect(audio.destination); osc.start(t); osc.stop(t + 0.4);
  }
  // Each wait is alerted once, keyed by when it began: a copy of the row that arrives late (or
  // the inbox sent again after a reconnect) neither repeats an alert nor loses one.
  var alerted = {}, everLoaded = false;
  function noteWaiting(c, alert) {
    if (!c.needs_human || alerted[c.id] === c.waiting_since) return;
    alerted[c.id] = c.waiting_since;
    if (alert) alertNeedsHuman(c);
  }
  function alertNeedsHuman(c) {
    say("A customer needs a person: " + c.label);
    window.ParleyConsole.alerts += 1;
    if (!alertsOn) return;
    tone();
    if (window.Notification && Notification.permission === "granted") {
      var n = new Notification("A customer needs a person", { body: c.label, tag: c.id });
      n.onclick = function () { window.focus(); watch(c.id); n.close(); };
    }
  }
  $("alerts").addEventListener("click", function () {
    alertsOn = !alertsOn;
    if (alertsOn) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx && !audio) audio = new Ctx();
      if (audio && audio.state === "suspended") audio.resume();
      if (window.Notification && Notification.permission === "default") Notification.requestPermission();
    }
    $("alerts").setAttribute("aria-pressed", String(alertsOn));
    $("alerts").textContent = alertsOn ? "Alerts on (sound and notification)" : "Turn on alerts";
  });

  // --- inbox ------------------------------------------------------------------------------------
  function shown(c) {
    return filter === "mine" ? c.agent === me : filter === "unassigned" ? !c.agent : true;
  }
  function renderInbox() {
    var list = $("list"), all = Object.keys(conversations).map(function (k) { return conversations[k]; });
    // Rows are rebuilt: the row that had the keyboard focus gets it back.
    var focused = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    list.textContent = "";
    var counts = { all: all.length, mine: 0, unassigned: 0 };
    all.forEach(function (c) { if (c.agent === me) counts.mine++; if (!c.agent) counts.unassigned++; });
    Object.keys(counts).forEach(function (k) { document.querySelector("[data-count='" + k + "']").textContent = "(" + counts[k] + ")"; });
    var rows = all.filter(shown).sort(function (a, b) {
      if (a.needs_human !== b.needs_human) return a.needs_human ? -1 : 1;
      if (a.needs_human) return a.waiting_since < b.waiting_since ? -1 : 1;
      return a.last_activity_at < b.last_activity_at ? 1 : -1;
    });
    rows.forEach(function (c) {
      var li = el("li"), b = el("button", "conv"), n = unread(c);
      b.type = "button"; b.dataset.id = c.id;
      if (current === c.id) b.setAttribute("aria-current", "true");
      var top = el("span", "top");
      top.appendChild(el("span", "label", c.label));
      if (n) { var u = el("span", "unread", String(n)); u.title = n + " unread customer message" + (n === 1 ? "" : "s"); top.appendChild(u); }
      b.appendChild(top);
      var meta = el("span", "meta");
      meta.appendChild(el("span", "badge " + c.status, status(c)));
      meta.appendChild(document.createTextNode(" · " + (c.agent_name ? c.agent_name : "Unassigned")));
      if (c.waiting_since) { meta.appendChild(document.createTextNode(" · ")); meta.appendChild(el("span", "wait", "waiting " + span(c.waiting_since))); }
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(timeEl(c.last_activity_at, ago(c.last_activity_at)));
      b.appendChild(meta);
      var who = { customer: "Customer: ", assistant: "Bot: ", agent: "Agent: " }[c.last_role] || "";
      b.appendChild(el("span", "preview", who + c.last_message));
      b.addEventListener("click", function () { watch(c.id); });
      li.appendChild(b); list.appendChild(li);
    });
    if (!rows.length) list.appendChild(el("li", "empty", filter === "mine" ? "Nothing assigned to you." : "No open conversations."));
    var again = focused && list.querySelector("button[data-id='" + focused + "']");
    if (again) again.focus();
    var waiting = all.filter(function (c) { return c.needs_human; }).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + "Parley — staff console";
  }
  function setFilter(f) {
    filter = f; localStorage.setItem("parley.console.filter", f);
    document.querySelectorAll("[data-filter]").forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.filter === f)); });
    renderInbox();
  }
  document.querySelectorAll("[data-filter]").forEach(function (b) { b.addEventListener("click", function () { setFilter(b.dataset.filter); }); });

  // An inbox row is what the conversation was when its sender read it: a row read before the one
  // shown (another process's update, sent late) is older, and does not replace it.
  function older(c, shown) {
    if (!shown) return false;
    var at = Date.parse(c.updated_at), shownAt = Date.parse(shown.updated_at);
    if (at !== shownAt) return at < shownAt;
    return Date.parse(c.last_activity_at) < Date.parse(shown.last_activity_at);
  }
  // ``reread``: a row read from the server just now, shown whatever is shown.
  function keep(c, reread) {
    if (!reread && older(c, conversations[c.id])) return;
    conversations[c.id] = c;
    if (loaded) noteWaiting(c, true);
    if (c.id === current) { markSeen(c); renderState(); }
  }
  function update(c, reread) { keep(c, reread); renderInbox(); }

  // --- the open conversation -------------------------------------------------------------------
  function renderState() {
    var c = conversations[current];
    if (!c) return;
    $("title").textContent = c.label;
    $("state").textContent = status(c) + (c.agent_name ? " · " + c.agent_name : "") +
      (c.customer && c.customer.email ? " · " + c.customer.email : "") +
      (c.contact_email ? " · answer by email: " + c.contact_email : "");
    $("state").className = "badge " + c.status;
    $("takeover").disabled = heldByMe(c);
    $("handback").disabled = c.status !== "human";
    ["suggest", "reply-input", "send", "note-input", "note-add"].forEach(function (id) { $(id).disabled = false; });
    if (heldByMe(c)) { $("send").textContent = "Send"; $("reply-hint").textContent = "You have this conversation: the bot stays silent until you hand it back."; }
    else {
      $("send").textContent = "Take over and send";
      $("reply-hint").textContent = c.status === "human"
        ? c.agent_name + " has this conversation: sending takes it over from them."
        : "The bot is answering: sending takes the conversation over (the bot stops until you hand it back).";
    }
  }

  function label(m) {
    var time = clock(m.created_at);
    if (m.role === "customer") return "Customer · " + time;
    if (m.role === "agent") return (m.author_name ? m.author_name + " (agent)" : "Agent") + " · " + time;
    if (m.role === "assistant") return "Assistant · " + time;
    return time;
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
    entry.who.textContent = "";
    if (m.role !== "system") entry.who.appendChild(timeEl(m.created_at, label(m)));
    var extra = [];
    if (m.status === "pending" || m.status === "streaming") extra.push("writing…");
    if (m.status === "failed") extra.push("failed");
    if (m.sources && m.sources.length) extra.push("from " + m.sources.map(function (s) { return s.title; }).join(", "));
    if (extra.length) entry.who.appendChild(document.createTextNode(" · " + extra.join(" · ")));
    if (m.handoff && m.role === "assistant") entry.who.appendChild(el("span", "flag", " · handed to a person"));
    entry.text.textContent = m.role === "system" ? m.text + (m.created_at ? " (" + clock(m.created_at) + ")" : "") : m.text;
    $("log").scrollTop = $("log").scrollHeight;
  }

  function renderNote(n) {
    var d = el("div", "note");
    d.appendChild(el("span", "note-who", n.author + " · " + clock(n.created_at)));
    d.appendChild(document.createTextNode(n.text));
    $("note-list").appendChild(d);
  }

  function watch(id) {
    stopTyping();
    current = id;
    messages = {}; $("log").textContent = ""; $("note-list").textContent = ""; $("suggestions").textContent = "";
    if (conversations[id]) { markSeen(conversations[id]); renderState(); }
    if (socket && socket.readyState === 1) socket.send(JSON.stringify({ type: "watch", conversation_id: id }));
    renderInbox();
  }

  // --- reply box: insert text, typing frames ---------------------------------------------------
  function insert(text) {
    var box = $("reply-input");
    if (box.disabled) return;
    var start = box.selectionStart, end = box.selectionEnd, before = box.value;
    box.value = before ? before.slice(0, start) + text + before.slice(end) : text;
    box.focus();
    var hole = box.value.search(/\{[a-z_]+\}/i);  // a placeholder left to fill: select it
    if (hole >= 0) box.setSelectionRange(hole, box.value.indexOf("}", hole) + 1);
    else box.setSelectionRange(box.value.length, box.value.length);
    typing();
  }
  // Placeholders the console knows are filled; the others stay selected for the agent to type over.
  function fill(text) {
    var c = conversations[current] || {};
    text = text.replace(/\{(agent|agent_name|my_name)\}/g, myName);
    var name = c.customer && c.customer.name;
    return name ? text.replace(/\{(name|customer|customer_name)\}/g, name) : text;
  }
  function sendTyping(active) {
    if (!current || !socket || socket.readyState !== 1 || !heldByMe(conversations[current])) return;
    socket.send(JSON.stringify({ type: "typing", conversation_id: current, active: active }));
    typingActive = active; typingSentAt = Date.now();
  }
  function typing() {
    if (!$("reply-input").value.trim()) { stopTyping(); return; }
    if (!typingActive || Date.now() - typingSentAt > 2000) sendTyping(true);
  }
  function stopTyping() { if (typingActive) sendTyping(false); typingActive = false; }
  $("reply-input").addEventListener("input", typing);
  $("reply-input").addEventListener("blur", stopTyping);

  // --- saved replies ------------------------------------------------------------------------------
  function renderSaved() {
    var q = $("saved-search").value.trim().toLowerCase(), list = $("saved-list");
    list.textContent = "";
    var found = savedReplies.filter(function (r) { return !q || (r.title + " " + r.text).toLowerCase().indexOf(q) >= 0; });
    found.slice(0, 50).forEach(function (r) {
      var li = el("li"), b = el("button"); b.type = "button"; b.dataset.saved = r.id;
      b.appendChild(el("span", "title", r.title)); b.appendChild(document.createTextNode(r.text));
      b.addEventListener("click", function () { insert(fill(r.text)); });
      li.appendChild(b); list.appendChild(li);
    });
    if (!found.length) list.appendChild(el("li", "empty", savedReplies.length ? "No saved reply matches." : "No saved replies yet (add them in the admin)."));
  }
  function loadSaved() {
    request("GET", "/api/staff/saved-replies/").then(function (data) { savedReplies = data.saved_replies; renderSaved(); }, function (e) { say(e.message); });
  }
  $("saved-search").addEventListener("input", renderSaved);

  // --- frames from the staff socket ----------------------------------------------------------------
  function onFrame(f) {
    if (f.type === "inbox") {
      // The first inbox only records who is waiting; one after a reconnect alerts for the waits
      // that began while the socket was down.
      conversations = {}; f.conversations.forEach(function (c) { conversations[c.id] = c; noteWaiting(c, everLoaded); });
      loaded = everLoaded = true; renderInbox(); if (current) watch(current);
    }
    else if (f.type === "inbox.update") { update(f.conversation); }
    else if (f.type === "conversation") { conversations[f.conversation.id] = f.conversation; markSeen(f.conversation); renderState(); f.messages.forEach(renderMessage); f.notes.forEach(renderNote); renderInbox(); }
    else if (f.type === "message") {
      // A copy older than what is shown never takes a final message back to streaming.
      var shownMsg = messages[f.message.id];
      var done = function (m) { return m.status === "complete" || m.status === "failed"; };
      if (!(shownMsg && done(shownMsg.data) && !done(f.message))) renderMessage(f.message);
    }
    else if (f.type === "delta") {
      var e = messages[f.message_id];
      var d = e ? e.data : { id: f.message_id, seq: 0, role: "assistant", status: "streaming", text: "", sources: [], created_at: new Date().toISOString() };
      if (f.offset <= d.text.length) { d.text = d.text + f.text.slice(d.text.length - f.offset); d.status = "streaming"; renderMessage(d); }
    }
    else if (f.type === "note" && f.conversation_id === current) { renderNote(f.note); }
    else if (f.type === "suggestions" && f.conversation_id === current) {
      var box = $("suggestions"); box.textContent = "";
      if (!f.suggestions.length) box.appendChild(el("p", "empty", "No drafts: the help centre has nothing on the customer's latest questions."));
      f.suggestions.forEach(function (s) {
        var b = el("button", "", s); b.type = "button";
        b.setAttribute("aria-label", "Use this draft: " + s);
        b.addEventListener("click", function () { insert(s); });
        box.appendChild(b);
      });
      say(f.suggestions.length ? f.suggestions.length + " draft" + (f.suggestions.length === 1 ? "" : "s") + " ready: pick one to edit it in the reply box." : "");
    }
  }

  function connect() {
    var ws = socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/staff/");
    ws.onopen = function () { backoff = 500; say(""); };
    ws.onmessage = function (ev) { onFrame(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (ev.code === 4403) { say("Staff only: log in at /admin/ first."); return; }
      say("Reconnecting…"); loaded = false;
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000);
    };
  }

  function post(path, body, done) {
    if (!current) return;
    request("POST", "/api/staff/conversations/" + current + "/" + path, body || {}).then(function (data) {
      if (data.conversation) update(data.conversation, true);
      if (done) done(data);
    }, function (e) { say(e.message); });
  }
  $("takeover").addEventListener("click", function () { post("takeover/", {}, function () { say("You have this conversation."); $("reply-input").focus(); }); });
  $("handback").addEventListener("click", function () { stopTyping(); post("handback/", {}, function () { say("Handed back to the bot."); }); });
  $("suggest").addEventListener("click", function () { say("Drafting replies from the help centre…"); $("suggestions").textContent = ""; post("suggestions/"); });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply-input").value.trim();
    if (!text) return;
    post("messages/", { text: text }, function () { $("reply-input").value = ""; stopTyping(); });
  });
  $("reply-input").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("reply-form").requestSubmit(); }
  });
  $("note-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("note-input").value.trim();
    if (!text) return;
    post("notes/", { text: text }, function () { $("note-input").value = ""; });
  });

  window.ParleyConsole = { alerts: 0 };
  setFilter(filter);
  loadSaved();
  setInterval(renderInbox, 30000);  // wait times and "3 min ago" move on
  // The inbox is read again now and then, and what it reads replaces the rows shown: an update
  // lost on the way (Redis restarting) or taken for older (a process's clock behind another's)
  // is shown within INBOX_RESYNC_MS all the same.
  setInterval(function () {
    if (!loaded) return;
    request("GET", "/api/staff/conversations/").then(function (data) {
      data.conversations.forEach(function (c) { keep(c, true); });
      renderInbox();
    }, function () {});
  }, INBOX_RESYNC_MS);
  connect();
})();
