/*
 * IAD loket chat widget. Embed with one tag:
 *   <script src="https://LOKET-HOST/widget/widget.js" defer></script>
 * Optional attributes: data-title, data-exit-url (where "Snel weg" goes), data-poll-seconds,
 * data-max-chars, data-api (the chat API's origin, default: where this script came from).
 *
 * Plain JavaScript, no dependencies, nothing loaded from anywhere but the loket's own server.
 * - The conversation id and unsent messages live in sessionStorage, so a reload restores the
 *   conversation (history is fetched again, never stored in the browser) and a new tab or a
 *   later visit does not find it (a browser may still restore a tab closed a moment ago,
 *   with its sessionStorage: "Snel weg" wipes it). Only when the resident ticks "Bewaar dit
 *   gesprek op dit apparaat" are they kept in localStorage.
 * - Each message has a client_message_id; the server answers a repeated id once, so the
 *   widget can resend freely after a network drop (retry queue with back-off).
 * - New messages (a staff member's reply) arrive by polling GET .../messages?after=<id>.
 * - "Snel weg" wipes the widget's storage and replaces the page at once.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__iadChatWidget) return;
  window.__iadChatWidget = true;

  var scriptUrl = new URL(script.src, location.href);
  var data = script.dataset;
  var cfg = {
    api: (data.api || scriptUrl.origin).replace(/\/$/, ""),
    assets: new URL(".", scriptUrl).href,
    title: data.title || "Chat met het loket",
    exitUrl: data.exitUrl || "https://www.google.nl/search?q=weerbericht",
    pollMs: Math.max(2, parseInt(data.pollSeconds, 10) || 4) * 1000,
    maxChars: parseInt(data.maxChars, 10) || 2000,
    welcome: data.welcome || "Hallo! Ik ben de digitale assistent van het loket. Waar kan ik u mee helpen? Typ uw vraag hieronder."
  };
  var STORE_KEY = "iad-chat:v1:" + cfg.api;
  var SENDER_LABEL = { resident: "U", bot: "Assistent", staff: "Medewerker", system: "Loket" };

  // --- storage (either may be blocked: then the widget works without it) -----------------
  // One snapshot, in sessionStorage (this tab, until it closes) or, when the resident chose to
  // keep the conversation, in localStorage (this device); never in both.
  var memory = {};
  function area(kind) { try { return window[kind]; } catch (e) { return null; } }
  function read(kind) {
    try { return JSON.parse(area(kind).getItem(STORE_KEY) || "null"); } catch (e) { return null; }
  }
  function load() {
    var kept = read("localStorage");
    if (kept) { kept.keep = true; return kept; }
    return read("sessionStorage") || memory;
  }
  function save() {
    var snapshot = { conversationId: state.conversationId, open: state.open, outbox: state.outbox };
    var here = state.keep ? "localStorage" : "sessionStorage";
    var not = state.keep ? "sessionStorage" : "localStorage";
    try { area(here).setItem(STORE_KEY, JSON.stringify(snapshot)); } catch (e) { memory = snapshot; }
    try { area(not).removeItem(STORE_KEY); } catch (e) { /* nothing stored there */ }
  }
  function wipe() {
    ["localStorage", "sessionStorage"].forEach(function (kind) {
      try { area(kind).removeItem(STORE_KEY); } catch (e) { /* nothing stored */ }
    });
    memory = {};
  }

  var stored = load();
  var state = {
    keep: !!stored.keep,
    conversationId: stored.conversationId || null,
    open: !!stored.open,
    outbox: Array.isArray(stored.outbox) ? stored.outbox : [],
    status: "bot",
    lastPolledId: 0,
    seen: {},            // server message ids already shown
    payloadTitles: {},   // button payload -> title, to show a chosen button by its words
    flushing: false,
    retryMs: 1000,
    retryTimer: null,
    pollTimer: null,
    unread: 0
  };

  // --- DOM -------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (attrs[key] !== null && attrs[key] !== undefined) node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  var host = el("div", { id: "iad-chat-widget" });
  var shadow = host.attachShadow({ mode: "open" });
  var css = el("link", { rel: "stylesheet", href: cfg.assets + "widget.css" });
  var root = el("div", { className: "root", "data-loading": "" });
  css.addEventListener("load", function () { root.removeAttribute("data-loading"); });
  css.addEventListener("error", function () { root.removeAttribute("data-loading"); });
  shadow.appendChild(css);
  shadow.appendChild(root);

  var badge = el("span", { className: "badge", hidden: "" });
  var launcher = el("button", { type: "button", className: "launcher", "aria-expanded": "false", "aria-controls": "iad-panel" },
    [el("span", { text: cfg.title }), badge]);
  var titleId = "iad-title";
  var exitButton = el("button", { type: "button", className: "exit", "aria-describedby": "iad-exit-hint", text: "Snel weg" });
  // Visible text, not an icon: the accessible name matches what is seen (WCAG 2.5.3).
  var closeButton = el("button", { type: "button", className: "close", text: "Sluiten" });
  var exitHint = el("span", { id: "iad-exit-hint", className: "sr-only", text: "Verlaat deze website meteen en wis de chat in deze browser." });
  var modeNote = el("p", { className: "mode", hidden: "", text: "Een medewerker van het loket helpt u nu." });
  var log = el("div", { className: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Berichten", tabindex: "0" });
  var typing = el("div", { className: "typing", role: "status", "aria-live": "polite" });
  var conn = el("p", { className: "conn", role: "status", "aria-live": "polite" });
  var input = el("textarea", { id: "iad-input", rows: "2", maxlength: String(cfg.maxChars), "aria-describedby": "iad-hint", autocomplete: "off" });
  var hint = el("p", { id: "iad-hint", className: "hint", text: "Enter is versturen. Shift en Enter is een nieuwe regel." });
  var sendButton = el("button", { type: "submit", className: "send", text: "Verstuur" });
  var form = el("form", { className: "composer", novalidate: "" },
    [el("label", { "for": "iad-input", text: "Uw bericht" }), input, sendButton, hint]);
  var keepBox = el("input", { type: "checkbox", id: "iad-keep", "aria-describedby": "iad-keep-hint" });
  keepBox.checked = state.keep;
  var keepRow = el("div", { className: "keep" }, [
    keepBox,
    el("label", { "for": "iad-keep", text: "Bewaar dit gesprek op dit apparaat" }),
    el("p", { id: "iad-keep-hint", className: "keep-hint", text: "Zonder vinkje bewaart deze browser het gesprek alleen voor dit venster. Deelt u dit apparaat? Zet dan geen vinkje, en klik op Snel weg als u klaar bent." })
  ]);
  var privacyLink = el("a", { href: cfg.api + "/transparantie", target: "_blank", rel: "noopener noreferrer", text: "Wat wij bewaren" });
  privacyLink.appendChild(el("span", { className: "sr-only", text: " (opent in een nieuw venster)" }));
  var panel = el("section", { id: "iad-panel", className: "panel", "aria-labelledby": titleId, hidden: "" }, [
    el("div", { className: "head" }, [el("h2", { id: titleId, text: cfg.title }), exitButton, closeButton, exitHint]),
    // Who can read along, and when (the same as on the transparency page).
    el("p", { className: "notice" }, [
      document.createTextNode("U praat met een computer. Medewerkers van het loket kunnen meelezen. " +
        "Het wijkteam ziet dit gesprek alleen als u dat goed vindt, of bij acuut gevaar. Deel geen BSN of rekeningnummer. "),
      privacyLink
    ]),
    modeNote, log, typing, conn, form, keepRow
  ]);
  root.appendChild(panel);
  root.appendChild(launcher);

  // --- rendering ---------------------------------------------------------------------------
  var LINK = /\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?])/g;

  function richText(text) {
    var p = el("p", { className: "text" });
    var clean = String(text || "").replace(/\*\*(.+?)\*\*/g, "$1");
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(clean))) {
      if (match.index > last) p.appendChild(document.createTextNode(clean.slice(last, match.index)));
      var href = match[2] || match[3];
      var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: match[1] || href });
      a.appendChild(el("span", { className: "sr-only", text: " (opent in een nieuw venster)" }));
      p.appendChild(a);
      last = LINK.lastIndex;
    }
    if (last < clean.length) p.appendChild(document.createTextNode(clean.slice(last)));
    return p;
  }

  function bubble(sender, text) {
    var node = el("div", { className: "msg msg--" + (SENDER_LABEL[sender] ? sender : "system") });
    node.appendChild(el("span", { className: "who", text: (SENDER_LABEL[sender] || "Loket") + ":" }));
    node.appendChild(richText(text));
    return node;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function removeChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".choices"), function (group) { group.remove(); });
  }

  function addChoices(node, buttons) {
    var group = el("div", { className: "choices", role: "group", "aria-label": "Kies een antwoord" });
    buttons.forEach(function (b) {
      if (!b || !b.title) return;
      state.payloadTitles[b.payload || b.title] = b.title;
      var button = el("button", { type: "button", text: b.title });
      button.addEventListener("click", function () {
        removeChoices();
        send(b.payload || b.title, b.title);
        input.focus();
      });
      group.appendChild(button);
    });
    node.appendChild(group);
  }

  function renderServerMessage(m) {
    if (!m || state.seen[m.id]) return false;
    state.seen[m.id] = true;
    if (m.sender === "resident") {
      removeChoices();  // answered: the old choices no longer apply
      var pending = m.client_message_id && log.querySelector('[data-cid="' + cssEscape(m.client_message_id) + '"]');
      if (pending) { pending.setAttribute("data-id", m.id); return false; }
      var shown = bubble("resident", state.payloadTitles[m.text] || m.text);
      shown.setAttribute("data-id", m.id);
      log.appendChild(shown);
      return false;
    }
    var node = bubble(m.sender, m.text);
    node.setAttribute("data-id", m.id);
    if (m.buttons && m.buttons.length) {
      removeChoices();
      addChoices(node, m.buttons);
    }
    log.appendChild(node);
    return true;
  }

  function cssEscape(value) { return String(value).replace(/[^A-Za-z0-9_-]/g, ""); }

  function renderPending(item) {
    var node = bubble("resident", item.label || item.text);
    node.setAttribute("data-cid", item.cid);
    node.appendChild(el("span", { className: "state", text: "Wordt verstuurd\u2026" }));
    log.appendChild(node);
    scrollDown();
    return node;
  }

  function pendingNode(item) { return log.querySelector('[data-cid="' + cssEscape(item.cid) + '"]') || renderPending(item); }

  function setItemState(item, text, failed) {
    var node = pendingNode(item);
    var label = node.querySelector(".state");
    if (!text) { if (label) label.remove(); return; }
    if (!label) { label = el("span", { className: "state" }); node.appendChild(label); }
    label.textContent = text;
    label.className = "state" + (failed ? " state--failed" : "");
    scrollDown();
  }

  function setStatus(status) {
    state.status = status || "bot";
    modeNote.hidden = state.status !== "staff";
  }

  function showTyping(on) {
    typing.textContent = "";
    if (!on) return;
    typing.appendChild(document.createTextNode(state.status === "staff" ? "Bericht wordt verstuurd" : "De assistent typt"));
    var dots = el("span", { className: "dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]);
    typing.appendChild(dots);
  }

  function setUnread(count) {
    state.unread = count;
    badge.hidden = !count;
    badge.textContent = count ? "nieuw bericht" : "";
  }

  // --- the chat API --------------------------------------------------------------------------
  function api(method, path, body) {
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 20000);
    var options = { method: method, headers: {}, credentials: "omit", cache: "no-store", signal: controller.signal };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(cfg.api + path, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { status: response.status, ok: response.ok, data: json || {} };
      });
    }).finally(function () { clearTimeout(timer); });
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  async function ensureConversation() {
    if (state.conversationId) return state.conversationId;
    var res = await api("POST", "/api/chat/conversations", {});
    if (!res.ok || !res.data.conversation_id) throw new Error("start failed: " + res.status);
    state.conversationId = res.data.conversation_id;
    save();
    return state.conversationId;
  }

  function send(text, label) {
    var item = { cid: newId(), text: text, label: label || text };
    state.outbox.push(item);
    save();
    renderPending(item);
    flush();
  }

  function scheduleRetry() {
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(flush, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 15000);
  }

  async function flush() {
    if (state.flushing) return;
    state.flushing = true;
    try {
      while (state.outbox.length) {
        var item = state.outbox[0];
        showTyping(true);
        var res;
        try {
          var id = await ensureConversation();
          res = await api("POST", "/api/chat/conversations/" + id + "/messages", { text: item.text, client_message_id: item.cid });
        } catch (networkError) {
          setItemState(item, "Nog niet verstuurd. We proberen het opnieuw.", true);
          conn.textContent = "Geen verbinding. Uw bericht wordt verstuurd zodra er weer verbinding is.";
          scheduleRetry();
          return;
        } finally {
          showTyping(false);
        }
        if (res.status === 404) {  // the conversation is gone: start a new one and send again
          state.conversationId = null;
          save();
          continue;
        }
        if (res.status >= 500 || res.status === 429) {
          setItemState(item, "Nog niet verstuurd. We proberen het opnieuw.", true);
          conn.textContent = "Het lukt nu niet om uw bericht te versturen. We proberen het opnieuw.";
          scheduleRetry();
          return;
        }
        state.outbox.shift();
        save();
        state.retryMs = 1000;
        conn.textContent = "";
        if (!res.ok) {  // refused (too long, HTML, empty): say why, keep the text visible
          setItemState(item, res.data.message || "Dit bericht kon niet worden verstuurd.", true);
          continue;
        }
        setItemState(item, "");
        var node = pendingNode(item);
        if (res.data.message) { node.setAttribute("data-id", res.data.message.id); state.seen[res.data.message.id] = true; }
        removeChoices();
        setStatus(res.data.status);
        (res.data.messages || []).forEach(renderServerMessage);
        scrollDown();
      }
    } finally {
      state.flushing = false;
    }
  }

  async function poll() {
    clearTimeout(state.pollTimer);
    var delay = state.open ? cfg.pollMs : cfg.pollMs * 3;
    if (state.conversationId && !state.outbox.length && document.visibilityState !== "hidden") {
      try {
        var res = await api("GET", "/api/chat/conversations/" + state.conversationId + "/messages?after=" + state.lastPolledId);
        if (res.status === 404) {  // expired or removed on the server: start afresh next time
          state.conversationId = null;
          save();
        } else if (res.ok) {
          if (conn.textContent && !state.outbox.length) conn.textContent = "";
          setStatus(res.data.status);
          var fresh = 0;
          (res.data.messages || []).forEach(function (m) {
            state.lastPolledId = Math.max(state.lastPolledId, m.id);
            if (renderServerMessage(m)) fresh += 1;
          });
          if (fresh) {
            scrollDown();
            if (!state.open) setUnread(state.unread + fresh);
          }
        }
      } catch (e) {
        conn.textContent = "Geen verbinding. We proberen het opnieuw.";
      }
    }
    state.pollTimer = setTimeout(poll, delay);
  }

  async function restore() {
    log.appendChild(bubble("bot", cfg.welcome));
    if (state.conversationId) {
      try {
        var res = await api("GET", "/api/chat/conversations/" + state.conversationId + "/messages");
        if (res.status === 404) {
          state.conversationId = null;
          save();
        } else if (res.ok) {
          setStatus(res.data.status);
          (res.data.messages || []).forEach(function (m) {
            state.lastPolledId = Math.max(state.lastPolledId, m.id);
            // Sent before the reload, answer lost on the way: the server has it, so it is not pending.
            state.outbox = state.outbox.filter(function (item) { return item.cid !== m.client_message_id; });
            renderServerMessage(m);
          });
          save();
        }
      } catch (e) {
        conn.textContent = "Geen verbinding. Eerdere berichten worden geladen zodra er weer verbinding is.";
      }
    }
    state.outbox.forEach(renderPending);
    scrollDown();
    if (state.outbox.length) flush();
  }

  // --- open, close, quick exit -----------------------------------------------------------
  function openPanel(focusInput) {
    state.open = true;
    save();
    panel.hidden = false;
    root.classList.add("is-open");
    launcher.setAttribute("aria-expanded", "true");
    setUnread(0);
    scrollDown();
    if (focusInput) input.focus();
    poll();
  }

  function closePanel() {
    state.open = false;
    save();
    panel.hidden = true;
    root.classList.remove("is-open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function quickExit() {
    // Leave no trace in this browser's storage, hide everything, and replace this page in
    // the history so "Back" does not bring the chat back.
    wipe();
    root.textContent = "";
    try { document.title = ""; document.body.style.visibility = "hidden"; } catch (e) { /* keep going */ }
    window.location.replace(cfg.exitUrl);
  }

  launcher.addEventListener("click", function () {
    if (panel.hidden) openPanel(true); else closePanel();
  });
  closeButton.addEventListener("click", closePanel);
  keepBox.addEventListener("change", function () { state.keep = keepBox.checked; save(); });
  exitButton.addEventListener("click", quickExit);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); closePanel(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      conn.textContent = "Uw bericht is leeg. Typ eerst een vraag.";
      input.focus();
      return;
    }
    conn.textContent = "";
    input.value = "";
    send(text);
    input.focus();
  });
  window.addEventListener("online", function () { state.retryMs = 1000; flush(); poll(); });
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") poll(); });

  function start() {
    document.body.appendChild(host);
    restore().then(function () {
      if (state.open) openPanel(false);
      else poll();
    });
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
