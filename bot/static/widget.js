/* Frontdesk chat widget. Embed with:
 *   <script src="https://support.example.com/widget.js" data-server="https://support.example.com" async></script>
 * data-server defaults to where this script came from; data-open="true" starts it open.
 * A signed-in customer: data-user-id, data-user-name, data-user-email and data-user-hash
 * (HMAC-SHA256 of the id under FRONTDESK_WIDGET_SECRET, made by the site's backend), or
 * Frontdesk.identify({id, name, email, hash}) later; Frontdesk.logout() on sign-out.
 * Everything a person wrote is put on the page with textContent, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript;
  var server = ((script && script.getAttribute("data-server")) || new URL(script.src).origin).replace(/\/$/, "");
  var storeKey = "frontdesk:v1:" + server;
  var state = load();  // the token and unacknowledged messages survive a reload
  var lastSeen = 0;  // a reload shows the whole history again
  var seen = {};
  var socket = null;
  var welcomed = false;
  var retries = 0;
  var maxText = 4000;
  var pendingRows = {};  // client id -> its row, until the server acknowledges it
  var identity = fromAttributes();  // who the site says the visitor is, if it says
  var stopped = false;  // the server refused this visitor: wait for identify()
  var REFUSALS = ["bad_identity", "identity_required", "identity_unverifiable"];

  function fromAttributes() {
    var id = script && script.getAttribute("data-user-id");
    if (!id) return null;
    return { id: id, name: script.getAttribute("data-user-name"),
             email: script.getAttribute("data-user-email"), hash: script.getAttribute("data-user-hash") };
  }

  function load() {
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || "{}");
      return { token: saved.token || null, pending: saved.pending || [] };
    } catch (e) {
      return { token: null, pending: [] };
    }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // --- the page -------------------------------------------------------------
  var style = el("style");
  style.textContent =
    ".fd-root{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:15px/1.4 system-ui,sans-serif;color:#1b1b1f}" +
    ".fd-launch{background:#1d4ed8;color:#fff;border:0;border-radius:24px;padding:12px 18px;font:inherit;cursor:pointer}" +
    ".fd-panel{width:min(380px,calc(100vw - 32px));height:min(560px,calc(100vh - 90px));display:flex;flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);overflow:hidden;margin-bottom:8px}" +
    ".fd-panel[hidden]{display:none}" +
    ".fd-head{background:#1d4ed8;color:#fff;padding:10px 14px;display:flex;justify-content:space-between;align-items:center}" +
    ".fd-head h2{font-size:16px;margin:0}.fd-status{font-size:12px;opacity:.9}" +
    ".fd-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}" +
    ".fd-msg{max-width:85%;display:flex;gap:8px;align-items:flex-start}" +
    ".fd-msg.fd-customer{align-self:flex-end;flex-direction:row-reverse}" +
    ".fd-bubble{background:#fff;border:1px solid #e1e4e8;border-radius:10px;padding:8px 10px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".fd-customer .fd-bubble{background:#dbeafe;border-color:#bfdbfe}" +
    ".fd-author{font-size:12px;color:#4b5563;margin:0 0 2px}.fd-author b{color:#111827}" +
    ".fd-photo,.fd-initials{width:32px;height:32px;border-radius:50%;flex:none;object-fit:cover}" +
    ".fd-initials{background:#6366f1;color:#fff;display:flex;align-items:center;justify-content:center;font-size:13px}" +
    ".fd-intro{display:flex;gap:10px;align-items:center;margin-top:8px;padding-top:8px;border-top:1px solid #e5e7eb}" +
    ".fd-intro .fd-photo,.fd-intro .fd-initials{width:48px;height:48px}" +
    ".fd-note{font-size:12px;color:#6b7280}.fd-failed{color:#b91c1c}" +
    ".fd-quick{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f6f7f9}" +
    ".fd-quick button{border:1px solid #1d4ed8;color:#1d4ed8;background:#fff;border-radius:16px;padding:4px 10px;font:inherit;font-size:13px;cursor:pointer}" +
    ".fd-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb}" +
    ".fd-form textarea{flex:1;resize:none;font:inherit;padding:8px;border:1px solid #9ca3af;border-radius:8px}" +
    ".fd-form button{background:#1d4ed8;color:#fff;border:0;border-radius:8px;padding:0 14px;font:inherit;cursor:pointer}" +
    ".fd-telegram{display:block;margin:6px 12px;font:inherit;font-size:13px;color:#1d4ed8;background:none;border:0;text-decoration:underline;cursor:pointer;text-align:left}" +
    ".fd-telegram[hidden]{display:none}" +
    ".fd-file{display:block;margin-top:6px;color:#1d4ed8}.fd-file img{display:block;max-width:100%;max-height:240px;border-radius:6px}" +
    ".fd-rating{margin-top:8px;padding-top:8px;border-top:1px solid #e5e7eb}" +
    ".fd-rating textarea{width:100%;box-sizing:border-box;font:inherit;font-size:13px;margin:2px 0 6px;border:1px solid #9ca3af;border-radius:6px}" +
    ".fd-stars{display:flex;flex-wrap:wrap;gap:4px}" +
    ".fd-stars button{border:1px solid #1d4ed8;color:#1d4ed8;background:#fff;border-radius:6px;padding:4px 8px;font:inherit;font-size:13px;cursor:pointer}" +
    ".fd-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}";
  document.head.appendChild(style);

  var root = el("div", "fd-root");
  var panel = el("section", "fd-panel");
  panel.id = "fd-panel";
  panel.setAttribute("aria-label", "Chat");
  var head = el("div", "fd-head");
  var title = el("h2", null, "Chat with us");
  var status = el("span", "fd-status", "Connecting…");
  status.setAttribute("role", "status");
  head.appendChild(title);
  head.appendChild(status);
  var telegram = el("button", "fd-telegram", "Continue on Telegram");
  telegram.type = "button";
  telegram.hidden = true;
  var telegramLink = el("a", "fd-telegram");
  telegramLink.hidden = true;
  telegramLink.target = "_blank";
  telegramLink.rel = "noopener";
  var log = el("div", "fd-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "Conversation");
  log.tabIndex = 0;
  var quick = el("div", "fd-quick");
  var form = el("form", "fd-form");
  var label = el("label", "fd-hidden", "Message");
  label.htmlFor = "fd-input";
  var input = el("textarea");
  input.id = "fd-input";
  input.rows = 2;
  input.maxLength = maxText;
  var send = el("button", null, "Send");
  send.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(telegram);
  panel.appendChild(telegramLink);
  panel.appendChild(log);
  panel.appendChild(quick);
  panel.appendChild(form);
  var launch = el("button", "fd-launch", "Chat with us");
  launch.setAttribute("aria-controls", "fd-panel");
  root.appendChild(panel);
  root.appendChild(launch);
  (document.body || document.documentElement).appendChild(root);

  function setOpen(open) {
    panel.hidden = !open;
    launch.setAttribute("aria-expanded", String(open));
    launch.textContent = open ? "Close chat" : "Chat with us";
    if (open) input.focus();
  }
  setOpen(script && script.getAttribute("data-open") === "true");
  launch.addEventListener("click", function () { setOpen(panel.hidden); });

  function initials(name) {
    return name.split(/\s+/).filter(Boolean).slice(0, 2).map(function (p) { return p[0]; }).join("").toUpperCase();
  }
  function avatar(person) {
    var fallback = el("span", "fd-initials", initials(person.name || "?"));
    fallback.setAttribute("aria-hidden", "true");
    if (!person.photo_url) return fallback;
    var img = el("img", "fd-photo");
    img.alt = person.name;
    img.src = person.photo_url;
    img.addEventListener("error", function () { img.replaceWith(fallback); });
    return img;
  }
  function authorLine(person) {
    var line = el("p", "fd-author");
    line.appendChild(el("b", null, person.name));
    if (person.title) line.appendChild(document.createTextNode(" · " + person.title));
    return line;
  }
  function render(message, pending) {
    var row = el("article", "fd-msg fd-" + message.kind);
    if (message.kind === "employee") row.appendChild(avatar(message.author));
    var bubble = el("div", "fd-bubble");
    bubble.appendChild(authorLine(message.author));
    bubble.appendChild(el("div", "fd-text", message.text));
    if (message.introduces) {
      var intro = el("div", "fd-intro");
      intro.appendChild(avatar(message.introduces));
      var who = el("div");
      who.appendChild(el("b", null, message.introduces.name));
      who.appendChild(el("div", "fd-note", message.introduces.title));
      var usually = message.introduces.replies_within ? "Usually replies within " + message.introduces.replies_within
        : message.introduces.hours && "Usually answers " + message.introduces.hours;  // the figure the text gives, if any
      if (usually) who.appendChild(el("div", "fd-note", usually));
      intro.appendChild(who);
      bubble.appendChild(intro);
    }
    (message.files || []).forEach(function (file) { bubble.appendChild(fileLink(file)); });
    if (message.rating) bubble.appendChild(ratingBox(message.id, message.rating.rated));
    if (pending) bubble.appendChild(el("div", "fd-note fd-sending", "Sending…"));
    row.appendChild(bubble);
    log.appendChild(row);
    if (!pending) {  // messages still being sent stay last
      Object.keys(pendingRows).forEach(function (id) { log.appendChild(pendingRows[id]); });
    }
    log.scrollTop = log.scrollHeight;
    return row;
  }
  // An employee's file: a picture shown (its name as its text alternative), or a link to
  // download it. Links are signed and expire; the server sends fresh ones on reconnect.
  function fileLink(file) {
    var link = el("a", "fd-file");
    link.href = server + file.url;
    link.target = "_blank";
    link.rel = "noopener";
    var kb = Math.max(1, Math.round(file.size / 1000));
    var size = kb >= 1000 ? (kb / 1000).toFixed(1) + " MB" : kb + " KB";
    if (file.inline) {
      var img = el("img");
      img.src = link.href;
      img.alt = file.name;
      link.appendChild(img);
    } else {
      link.textContent = "Download " + file.name + " (" + size + ")";
      link.setAttribute("download", file.name);
    }
    return link;
  }

  // A closed conversation asks for a rating: buttons 1 to 5, an optional comment, Skip.
  var ratingBoxes = {};  // the asking message's id -> its box
  function ratedText(rated) {
    if (rated === "skipped") return "Rating skipped.";
    return "You rated this conversation " + rated + " out of 5. Thank you!";
  }
  function ratingBox(messageId, rated) {
    var box = el("div", "fd-rating");
    ratingBoxes[messageId] = box;
    if (rated !== null && rated !== undefined) {
      box.appendChild(el("div", "fd-note", ratedText(rated)));
      return box;
    }
    var comment = el("textarea");
    comment.id = "fd-comment-" + messageId;
    comment.rows = 2;
    comment.maxLength = 1000;
    var label = el("label", "fd-note", "Comment (optional)");
    label.htmlFor = comment.id;
    var group = el("div", "fd-stars");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Rate this conversation");
    function answer(score) {
      if (!(socket && welcomed && socket.readyState === WebSocket.OPEN)) return;
      var text = comment.value.trim();
      socket.send(JSON.stringify({ type: "rating", message_id: messageId, score: score, comment: text || null }));
      group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    }
    [1, 2, 3, 4, 5].forEach(function (score) {
      var button = el("button", null, score + " ★");
      button.type = "button";
      button.setAttribute("aria-label", "Rate " + score + " out of 5");
      button.addEventListener("click", function () { answer(score); });
      group.appendChild(button);
    });
    var skip = el("button", null, "Skip");
    skip.type = "button";
    skip.setAttribute("aria-label", "Skip rating");
    skip.addEventListener("click", function () { answer(null); });
    group.appendChild(skip);
    box.appendChild(label);
    box.appendChild(comment);
    box.appendChild(group);
    return box;
  }
  function rated(frame) {
    var box = ratingBoxes[frame.message_id];
    if (!box) return;
    var texts = { rated: ratedText(frame.score), skipped: ratedText("skipped"),
                  already: "This conversation has its rating already.",
                  unknown: "This conversation cannot be rated any more." };
    box.textContent = "";
    var note = el("div", "fd-note", texts[frame.outcome] || "");
    note.setAttribute("role", "status");
    box.appendChild(note);
  }
  function showQuickReplies(options) {
    quick.textContent = "";
    (options || []).forEach(function (option) {
      var button = el("button", null, option);
      button.type = "button";
      button.addEventListener("click", function () { quick.textContent = ""; submit(option); });
      quick.appendChild(button);
    });
  }

  // --- talking to the server ------------------------------------------------
  function submit(text) {
    text = text.trim();
    if (!text) return;
    if (text.length > maxText) { text = text.slice(0, maxText); }
    var item = { id: newId(), text: text };
    state.pending.push(item);
    save();
    pendingRows[item.id] = render({ kind: "customer", author: { name: "You" }, text: text }, true);
    transmit(item);
  }
  function transmit(item) {
    if (socket && welcomed && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", id: item.id, text: item.text }));
    }
  }
  function acknowledged(clientId, messageId) {
    state.pending = state.pending.filter(function (p) { return p.id !== clientId; });
    save();
    var row = pendingRows[clientId];
    if (row) {
      var note = row.querySelector(".fd-sending");
      if (note) note.remove();
      delete pendingRows[clientId];
      if (messageId) seen[messageId] = true;
    }
  }
  function received(message) {
    if (seen[message.id]) return;
    seen[message.id] = true;
    if (message.client_id && pendingRows[message.client_id]) {
      acknowledged(message.client_id, message.id);
    } else {
      render(message, false);
    }
    if (message.id > lastSeen) lastSeen = message.id;
    showQuickReplies(message.quick_replies);
  }
  function connect() {
    welcomed = false;
    socket = new WebSocket(server.replace(/^http/, "ws") + "/widget/socket");
    socket.addEventListener("open", function () {
      var hello = { type: "hello", token: state.token, last_seen: lastSeen };
      if (identity) hello.identity = identity;
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "welcome") {
        if (frame.token !== state.token) { state.token = frame.token; lastSeen = 0; save(); }
        title.textContent = "Chat with " + frame.company;
        maxText = frame.max_text || maxText;
        welcomed = true;
        retries = 0;
        telegram.hidden = !frame.telegram || !telegramLink.hidden;
        status.textContent = "Connected";
        state.pending.forEach(transmit);
      } else if (frame.type === "message") {
        received(frame.message);
      } else if (frame.type === "telegram_link") {
        telegramLink.href = frame.url;
        telegramLink.textContent = "Open Telegram to continue there (link valid for 30 minutes)";
        telegramLink.hidden = false;
        telegram.hidden = true;
      } else if (frame.type === "rated") {
        rated(frame);
      } else if (frame.type === "ack") {
        acknowledged(frame.id, frame.message_id);
      } else if (frame.type === "error" && !frame.id) {
        status.textContent = frame.message;
        if (REFUSALS.indexOf(frame.code) >= 0) stopped = true;
      } else if (frame.type === "error") {
        var row = pendingRows[frame.id];
        if (row) {
          var note = row.querySelector(".fd-sending");
          if (note) { note.textContent = "Not sent: " + frame.message; note.className = "fd-note fd-failed"; }
          state.pending = state.pending.filter(function (p) { return p.id !== frame.id; });
          save();
        }
      }
    });
    socket.addEventListener("close", function () {
      welcomed = false;
      if (stopped) return;
      var delay = Math.min(15000, 500 * Math.pow(2, retries++)) * (0.8 + Math.random() * 0.4);
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay);
    });
  }
  state.pending.forEach(function (item) {
    pendingRows[item.id] = render({ kind: "customer", author: { name: "You" }, text: item.text }, true);
  });
  telegram.addEventListener("click", function () {
    if (socket && welcomed) socket.send(JSON.stringify({ type: "link_telegram" }));
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    input.value = "";
    submit(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  function reconnect() {
    stopped = false;
    retries = 0;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(); else connect();
  }
  window.Frontdesk = {
    // The site vouches for the visitor: {id, name, email, hash}.
    identify: function (who) { identity = who; reconnect(); },
    // The visitor signed out: forget them on this browser and start afresh.
    logout: function () {
      identity = null;
      state = { token: null, pending: [] };
      save();
      log.textContent = "";
      seen = {};
      pendingRows = {};
      lastSeen = 0;
      reconnect();
    }
  };
  connect();
})();
