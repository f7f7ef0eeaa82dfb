// A host's topology (templates/hosts/topology.html): pan by dragging the background, zoom with the
// wheel or the buttons, and, for operators, connect a guest by dragging it onto a switch, or with
// the form below.
//
// The keyboard: the drawing's switches and guests are one roving focus (one tab stop; the arrow
// keys, Home and End move it, Enter or Space opens the node's actions: its page and, for
// operators, connect and disconnect, the same requests as the mouse's). Shift and an arrow pans.
//
// The drawing is a live part that static/vnetweb/live.js swaps whenever the host changes. So the
// view (pan and zoom) is a transform of the stage around it, which no swap touches, kept in
// sessionStorage per host for a reload; what this script adds to the drawing (dashed lines for
// the NICs it asked for, the focus) is put back after each swap.
(function () {
  "use strict";
  var root = document.getElementById("topology");
  if (!root) return;
  var viewport = root.querySelector(".topo-viewport");
  var stage = root.querySelector(".topo-stage");
  var overlay = root.querySelector(".topo-overlay");
  var status = document.getElementById("topo-status");
  var form = root.querySelector("form.topo-connect");
  var canEdit = root.hasAttribute("data-edit");
  var SVG = "http://www.w3.org/2000/svg";
  var KEY = "vnetweb.topology." + root.dataset.host;
  var MIN = 0.1, MAX = 4, STEP = 1.25, BEND = 48;
  var PENDING_MS = 120000;  // a line this page drew for a job the drawing never showed
  var view = { x: 0, y: 0, k: 1 };
  var gesture = null;
  var pending = [];  // NICs asked for: {guest, network, count, since} or leaving: {guest, mac, since}
  var menu = null;
  var focusKey = null;  // a selector for the focused node of the drawing, to focus it after a swap
  var roving = null;  // a selector for the node that holds the drawing's one tab stop
  var saveTimer = null;

  root.classList.add("js");

  function drawing() { return stage.querySelector("svg.topo"); }
  // Nodes of the drawing by a selector within it (the drawing is swapped: never keep them).
  function find(selector) { return stage.querySelector("svg.topo " + selector); }
  function findAll(selector) { return stage.querySelectorAll("svg.topo " + selector); }
  function quoted(value) { return '"' + CSS.escape(value) + '"'; }
  function guestKey(name) { return "g.guest[data-guest=" + quoted(name) + "]"; }
  function switchKey(name) { return "g.switch[data-switch=" + quoted(name) + "]"; }
  function nicKey(guest, attr, value) {
    return "g.nic[data-guest=" + quoted(guest) + "][data-" + attr + "=" + quoted(value) + "]";
  }
  function box(node) {
    var b = node.dataset.box.split(" ").map(Number);
    return { x: b[0], y: b[1], w: b[2], h: b[3] };
  }

  // --- the view ------------------------------------------------------------------------------
  // While the view moves, the drawing is one picture the compositor shifts and scales (a few
  // hundred nodes painted again each frame drop frames); sharp again once it stops.
  function apply() {
    stage.style.transform = "translate(" + view.x + "px," + view.y + "px) scale(" + view.k + ")";
    stage.classList.add("moving");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(function () {
      stage.classList.remove("moving");
      save();
    }, 150);
  }

  function save() {
    try { sessionStorage.setItem(KEY, JSON.stringify(view)); } catch (e) { /* private mode */ }
  }
  // A reload within the pause after a move would otherwise lose it.
  window.addEventListener("pagehide", save);

  function restore() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(KEY));
      if (saved && isFinite(saved.x) && isFinite(saved.y) && saved.k >= MIN && saved.k <= MAX) {
        view = saved;
        return true;
      }
    } catch (e) { /* nothing saved */ }
    return false;
  }

  // The whole width from the top, never larger than life.
  function fit() {
    var svg = drawing();
    var width = svg ? svg.width.baseVal.value : viewport.clientWidth;
    view = { x: 0, y: 0, k: Math.max(MIN, Math.min(1, viewport.clientWidth / width)) };
    apply();
  }

  // Zoom by `factor` keeping the viewport's point (px, py) where it is.
  function zoomAt(factor, px, py) {
    var k = Math.min(MAX, Math.max(MIN, view.k * factor));
    view.x = px - (px - view.x) * k / view.k;
    view.y = py - (py - view.y) * k / view.k;
    view.k = k;
    apply();
  }

  function zoomCentre(factor) { zoomAt(factor, viewport.clientWidth / 2, viewport.clientHeight / 2); }

  function toDrawing(clientX, clientY) {
    var r = stage.getBoundingClientRect();
    return { x: (clientX - r.left) / view.k, y: (clientY - r.top) / view.k };
  }

  root.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.dataset.zoom;
      if (how === "reset") fit();
      else zoomCentre(how === "in" ? STEP : 1 / STEP);
    });
  });

  viewport.addEventListener("wheel", function (event) {
    event.preventDefault();
    var r = viewport.getBoundingClientRect();
    var delta = event.deltaY * (event.deltaMode === 1 ? 16 : 1);
    zoomAt(Math.exp(-delta * 0.0015), event.clientX - r.left, event.clientY - r.top);
  }, { passive: false });

  // Focus moving to a node out of sight scrolls the viewport: turn that into a pan.
  viewport.addEventListener("scroll", function () {
    view.x -= viewport.scrollLeft;
    view.y -= viewport.scrollTop;
    viewport.scrollLeft = viewport.scrollTop = 0;
    apply();
  });

  // --- pointer: pan the background, drag a guest ------------------------------------------------
  viewport.addEventListener("pointerdown", function (event) {
    if (event.button !== 0) return;
    closeMenu(false);
    var guest = canEdit && nodeOf(event.target);
    if (guest && !guest.matches("g.guest")) guest = null;
    if (!guest && canEdit && event.target.closest("g.nic[data-mac]")) return;  // its click opens a menu
    gesture = {
      kind: guest ? "guest" : "pan", guest: guest, id: event.pointerId, moved: false,
      x0: event.clientX, y0: event.clientY, vx: view.x, vy: view.y, target: null, line: null,
    };
  });

  viewport.addEventListener("pointermove", function (event) {
    if (!gesture || event.pointerId !== gesture.id) return;
    var dx = event.clientX - gesture.x0, dy = event.clientY - gesture.y0;
    if (!gesture.moved) {
      if (Math.abs(dx) + Math.abs(dy) < 4) return;  // still a click
      gesture.moved = true;
      // Captured only now: a click (on a link, say) must still reach what was clicked.
      try { viewport.setPointerCapture(event.pointerId); } catch (e) { /* a synthetic pointer */ }
      viewport.classList.add(gesture.kind === "pan" ? "panning" : "dragging");
      if (gesture.kind === "guest") startDrag(gesture);
    }
    if (gesture.kind === "pan") {
      view.x = gesture.vx + dx;
      view.y = gesture.vy + dy;
      apply();
    } else {
      dragTo(gesture, event);
    }
  });

  function endGesture(event, dropped) {
    if (!gesture || event.pointerId !== gesture.id) return;
    var done = gesture;
    gesture = null;
    viewport.classList.remove("panning", "dragging");
    if (!done.moved) return;
    swallowClick();
    if (done.kind === "guest") endDrag(done, dropped ? event : null);
  }
  viewport.addEventListener("pointerup", function (event) { endGesture(event, true); });
  viewport.addEventListener("pointercancel", function (event) { endGesture(event, false); });
  // Links in SVG would otherwise start the browser's own drag and drop.
  stage.addEventListener("dragstart", function (event) { event.preventDefault(); });

  // The click that ends a pan or a drag opens nothing.
  function swallowClick() {
    function swallow(event) { event.preventDefault(); event.stopPropagation(); }
    viewport.addEventListener("click", swallow, { capture: true, once: true });
    setTimeout(function () { viewport.removeEventListener("click", swallow, { capture: true }); }, 50);
  }

  function startDrag(g) {
    var b = box(g.guest);
    g.from = { x: b.x + b.w / 2, y: b.y + b.h / 2 };
    g.name = g.guest.dataset.guest;
    g.line = document.createElementNS(SVG, "line");
    g.line.setAttribute("class", "rubber");
    g.line.setAttribute("x1", g.from.x);
    g.line.setAttribute("y1", g.from.y);
    overlay.appendChild(g.line);
    g.guest.classList.add("lifted");
  }

  // The switch under the pointer, also where a NIC's line crosses it.
  function switchAt(clientX, clientY) {
    var hits = document.elementsFromPoint(clientX, clientY);
    for (var i = 0; i < hits.length; i++) {
      var sw = hits[i].closest && hits[i].closest("svg.topo g.switch");
      if (sw) return sw;
    }
    return null;
  }

  function dragTo(g, event) {
    var p = toDrawing(event.clientX, event.clientY);
    g.line.setAttribute("x2", p.x);
    g.line.setAttribute("y2", p.y);
    var target = switchAt(event.clientX, event.clientY);
    if (target === g.target) return;
    if (g.target) g.target.classList.remove("drop-target");
    g.target = target;
    if (target) target.classList.add("drop-target");
  }

  function endDrag(g, event) {
    g.line.remove();
    g.guest.classList.remove("lifted");
    if (g.target) g.target.classList.remove("drop-target");
    var target = event && switchAt(event.clientX, event.clientY);
    if (target) attach(g.name, target.dataset.switch);
  }

  // --- keyboard: one roving focus over the switches and guests ----------------------------------
  // A switch or a guest of the drawing from what the pointer hit: its link, drawn over its name
  // beside it (not inside: no interactive element in another), stands for it.
  function nodeOf(target) {
    var node = target.closest("g.guest, g.switch");
    var page = !node && target.closest("a.page");
    if (page) node = find(page.dataset.guest !== undefined ?
      guestKey(page.dataset.guest) : switchKey(page.dataset.switch));
    return node || null;
  }

  // Reading order: each switch, then the guests hung under it; then the guests on no switch.
  function items() {
    var under = Object.create(null), tray = [], list = [];
    findAll("g.guest").forEach(function (g) {
      if (g.dataset.home === undefined) tray.push(g);
      else (under[g.dataset.home] = under[g.dataset.home] || []).push(g);
    });
    findAll("g.switch").forEach(function (sw) {
      list.push(sw);
      list.push.apply(list, under[sw.dataset.switch] || []);
    });
    return list.concat(tray);
  }

  // The node that holds the one tab stop (tabindex 0); every other has -1 (from the server).
  function rove(node) {
    findAll('[tabindex="0"]').forEach(function (n) { n.setAttribute("tabindex", "-1"); });
    node.setAttribute("tabindex", "0");
    roving = keyOf(node);
  }

  // After the first load and each swap: the tab stop where it was, else on the first node.
  function settle() {
    var node = (roving && find(roving)) || items()[0];
    if (node) rove(node);
  }

  // Moving the focus out of sight pans the view to show it.
  function reveal(node) {
    var r = node.getBoundingClientRect(), v = viewport.getBoundingClientRect(), pad = 24;
    var dx = 0, dy = 0;
    if (r.left < v.left + pad) dx = v.left + pad - r.left;
    else if (r.right > v.right - pad) dx = Math.max(v.right - pad - r.right, v.left + pad - r.left);
    if (r.top < v.top + pad) dy = v.top + pad - r.top;
    else if (r.bottom > v.bottom - pad) dy = Math.max(v.bottom - pad - r.bottom, v.top + pad - r.top);
    if (!dx && !dy) return;
    view.x += dx;
    view.y += dy;
    apply();
  }

  function isSwitch(node) { return node.matches("g.switch"); }

  // Where a key takes the focus from `node`: undefined for a key that does not move it.
  function target(node, key) {
    var list = items(), at = list.indexOf(node);
    var after = list.slice(at + 1), before = list.slice(0, Math.max(at, 0)).reverse();
    var moves = {
      ArrowDown: after[0], ArrowUp: before[0], Home: list[0], End: list[list.length - 1],
      ArrowRight: after.filter(isSwitch)[0], ArrowLeft: before.filter(isSwitch)[0],
    };
    return key in moves ? moves[key] || node : undefined;
  }

  function go(node) {
    rove(node);
    node.focus({ preventScroll: true });
    reveal(node);
  }

  var PAN = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] };
  var ZOOM = { "+": STEP, "=": STEP, "-": 1 / STEP };

  viewport.addEventListener("keydown", function (event) {
    var node = event.target.closest && event.target.closest("g.guest, g.switch");
    if (!node || event.altKey || event.ctrlKey || event.metaKey) return;
    var to = event.shiftKey ? undefined : target(node, event.key);
    if (event.shiftKey && PAN[event.key]) {
      view.x += PAN[event.key][0];
      view.y += PAN[event.key][1];
      apply();
    } else if (ZOOM[event.key]) zoomCentre(ZOOM[event.key]);
    else if (event.key === "0") fit();
    else if (to) go(to);
    else if (event.key === "Enter" || event.key === " ") actions(node, false);
    else if (canEdit && node.matches("g.guest") && /^(Delete|Backspace)$/.test(event.key)) {
      actions(node, true);
    } else return;
    event.preventDefault();
  });

  viewport.addEventListener("click", function (event) {
    var line = canEdit && event.target.closest("g.nic[data-mac]");
    if (line) nicMenu(line);
  });

  // --- the menu: a node's page, what a guest can be connected to or disconnected from ----------
  // Its page first, so that Enter twice opens a page and never changes anything; `disconnect`
  // (the Delete key) puts the focus on its first NIC's Disconnect instead.
  function actions(node, disconnect) {
    if (node.matches("g.switch")) {
      var name = node.dataset.switch;
      openMenu(node, switchKey(name), "Switch " + name, [pageItem(node)]);
    } else guestMenu(node, disconnect);
  }

  function pageItem(node) {
    var name = node.dataset.guest || node.dataset.switch;
    var link = find("a.page[data-" + (node.dataset.guest ? "guest" : "switch") + "=" +
      quoted(name) + "]");
    return { label: "Open the page of " + name, href: link ? link.getAttribute("href") : "" };
  }

  function guestMenu(node, disconnect) {
    var guest = node.dataset.guest;
    var items = [pageItem(node)];
    if (canEdit) {
      findAll("g.switch").forEach(function (sw) {
        var name = sw.dataset.switch;
        var on = find(nicKey(guest, "network", name) + ":not(.pending)");
        items.push({
          label: "Connect to " + name + (on ? " (another NIC)" : ""), switch: name,
          run: function () { attach(guest, name); },
        });
      });
      var lines = findAll("g.nic[data-mac][data-guest=" + quoted(guest) + "]");
      items = items.concat(Array.prototype.map.call(lines, disconnectItem));
    }
    openMenu(node, guestKey(guest), "Guest " + guest, items, disconnect ? ".danger" : null);
  }

  function nicMenu(line) {
    var key = nicKey(line.dataset.guest, "mac", line.dataset.mac);
    openMenu(line, key, line.dataset.guest + " on " + line.dataset.network, [disconnectItem(line)]);
  }

  function disconnectItem(line) {
    var guest = line.dataset.guest, mac = line.dataset.mac, network = line.dataset.network;
    return {
      label: "Disconnect from " + network + " (" + mac + ")", css: "danger",
      run: function () { detach(guest, mac, network); },
    };
  }

  function openMenu(opener, key, title, items, focus) {
    closeMenu(false);
    menu = document.createElement("div");
    menu.className = "topo-menu";
    menu.setAttribute("role", "dialog");
    menu.setAttribute("aria-label", title);
    var heading = document.createElement("p");
    heading.className = "topo-menu-title";
    heading.textContent = title;
    menu.appendChild(heading);
    items.concat([{ label: "Cancel", run: function () {} }]).forEach(function (item) {
      var button = document.createElement(item.href ? "a" : "button");
      if (item.href) button.href = item.href;
      else button.type = "button";
      button.className = "btn" + (item.css ? " " + item.css : "");
      button.textContent = item.label;
      if (item.switch) button.dataset.switch = item.switch;
      if (item.run) button.addEventListener("click", function () { closeMenu(true); item.run(); });
      menu.appendChild(button);
    });
    menu.opener = key;
    var at = opener.getBoundingClientRect(), frame = root.getBoundingClientRect();
    menu.style.left = Math.max(0, Math.min(at.right - frame.left + 8, frame.width - 280)) + "px";
    menu.style.top = Math.max(0, at.top - frame.top) + "px";
    menu.addEventListener("keydown", menuKeys);
    root.appendChild(menu);
    ((focus && menu.querySelector(focus)) || menu.querySelector("a, button")).focus();
  }

  function closeMenu(refocus) {
    if (!menu) return;
    var key = menu.opener;
    menu.remove();
    menu = null;
    var node = refocus && find(key);
    if (node) node.focus({ preventScroll: true });
  }

  function menuKeys(event) {
    var buttons = Array.prototype.slice.call(menu.querySelectorAll("a, button"));
    var at = buttons.indexOf(document.activeElement);
    var step = { ArrowDown: 1, ArrowUp: -1 }[event.key] ||
      (event.key === "Tab" ? (event.shiftKey ? -1 : 1) : 0);
    if (event.key === "Escape") closeMenu(true);
    else if (event.key === "Home") buttons[0].focus();
    else if (event.key === "End") buttons[buttons.length - 1].focus();
    else if (step) buttons[(at + step + buttons.length) % buttons.length].focus();
    else return;
    event.preventDefault();
  }

  document.addEventListener("pointerdown", function (event) {
    if (menu && !menu.contains(event.target) && !viewport.contains(event.target)) closeMenu(false);
  });

  // --- asking the server ------------------------------------------------------------------------
  function say(kind, words) {
    status.className = "topo-status " + kind;
    status.textContent = words;
  }

  // The views answer an htmx request with a fragment that says what happened in words (202: the
  // job is queued, with its link; 4xx: why not); anything else gets words of our own.
  function answer(xhr, redirected, done) {
    var text = xhr.responseText;
    var fragment = /text\/html/.test(xhr.getResponseHeader("Content-Type") || "") &&
      !/<html|<!doctype/i.test(text) && text.trim();
    if (redirected) {
      say("error", "The server sent this page elsewhere (are you still logged in?): nothing was changed.");
    } else if (fragment) {
      status.className = "topo-status " + (done ? "ok" : "error");
      status.innerHTML = text;  // our own server's fragment
      htmx.process(status);
    } else if (done) say("ok", "Queued.");
    else if (xhr.status === 403) say("error", "Your role may not change this guest's NICs.");
    else if (xhr.status === 404) say("error", "That guest or NIC is not there any more.");
    else say("error", "The server refused (HTTP " + xhr.status + ").");
  }

  // htmx makes the request (its own headers, the page's CSRF token from <body hx-headers>); the
  // answer is read here rather than swapped, for it goes into the status line, in words.
  function post(url, fields, asked, then) {
    var sent = new URL(url, location.href).pathname;
    say("busy", asked);
    htmx.ajax("POST", url, {
      source: status,
      values: fields,
      handler: function (elt, info) {
        var xhr = info.xhr;
        // Sent on elsewhere (to the login page, say): nothing was asked.
        var redirected = !!xhr.responseURL && new URL(xhr.responseURL).pathname !== sent;
        var done = xhr.status >= 200 && xhr.status < 300 && !redirected;
        answer(xhr, redirected, done);
        if (done) then();
      }
    }).catch(function () { say("error", "The request did not reach the server: nothing was changed."); });
  }

  // A name in a URL path, quoted as Django's reverse() quotes it (":" "@" "$" "&" … stay).
  function segment(name) {
    return encodeURIComponent(name).replace(/%(24|26|2B|2C|3B|3D|3A|40)/gi, decodeURIComponent);
  }

  function fill(url, guest, mac) {
    return url.replace("~name~", segment(guest)).replace("~mac~", segment(mac || ""));
  }

  // The version of the guest's NICs the drawing shows: the server refuses a change made against
  // an older one, saying what changed since (the drawing follows the host live, and so does this).
  function version(guest) {
    var node = find(guestKey(guest));
    return node ? node.dataset.version || "" : "";
  }

  function attach(guest, network) {
    // Lines for this guest and switch now: the job's NIC is drawn once there is one more.
    var count = findAll(nicKey(guest, "network", network)).length;
    var entry = { guest: guest, network: network, count: count };
    var url = fill(root.dataset.attach, guest);
    var fields = { network: network, version: version(guest) };
    post(url, fields, "Connecting " + guest + " to " + network + "…", awaiting(entry));
  }

  function detach(guest, mac, network) {
    var entry = { guest: guest, mac: mac };
    var url = fill(root.dataset.detach, guest, mac);
    post(url, { version: version(guest) }, "Disconnecting " + guest + " from " + network + "…",
      awaiting(entry));
  }

  function awaiting(entry) {
    return function () {
      entry.since = Date.now();
      pending.push(entry);
      drawPending();
      setTimeout(drawPending, PENDING_MS + 100);  // given up on, if the drawing never showed it
    };
  }

  // --- what this page asked for, until the drawing shows it ----------------------------------------
  function curve(g, s) {
    var x1, y1, x2, b1, b2, scx = s.x + s.w / 2;
    if (scx > g.x + g.w) { x1 = g.x + g.w; y1 = g.y + g.h / 2; x2 = s.x; b1 = BEND; b2 = -BEND; }
    else if (scx < g.x) { x1 = g.x; y1 = g.y + 10; x2 = s.x + s.w; b1 = -BEND; b2 = BEND; }
    else { x1 = g.x + g.w; y1 = g.y + g.h / 2; x2 = s.x + s.w; b1 = BEND; b2 = BEND; }
    var y2 = s.y + s.h / 2;
    return "M" + x1 + "," + y1 + " C" + (x1 + b1) + "," + y1 + " " +
      (x2 + b2) + "," + y2 + " " + x2 + "," + y2;
  }

  function drawPending() {
    overlay.querySelectorAll(".pending").forEach(function (line) { line.remove(); });
    var now = Date.now();
    pending = pending.filter(function (p) {
      if (now - p.since > PENDING_MS) return false;
      if (p.mac) {  // leaving: marked until its line is gone
        var line = find(nicKey(p.guest, "mac", p.mac));
        if (line) line.classList.add("leaving");
        return !!line;
      }
      // Coming: the drawing now has the job's dashed line or the NIC itself.
      if (findAll(nicKey(p.guest, "network", p.network)).length > p.count) return false;
      var guest = find(guestKey(p.guest)), sw = find(switchKey(p.network));
      if (!guest || !sw) return false;
      var path = document.createElementNS(SVG, "path");
      path.setAttribute("class", "pending");
      path.setAttribute("d", curve(box(guest), box(sw)));
      path.dataset.guest = p.guest;
      path.dataset.network = p.network;
      overlay.appendChild(path);
      return true;
    });
  }

  // --- after each swap of the drawing ----------------------------------------------------------
  function sizeOverlay() {
    var svg = drawing();
    if (!svg) return;
    overlay.setAttribute("width", svg.getAttribute("width"));
    overlay.setAttribute("height", svg.getAttribute("height"));
  }

  function keyOf(node) {
    if (node.matches("g.guest")) return guestKey(node.dataset.guest);
    if (node.matches("g.switch")) return switchKey(node.dataset.switch);
    return null;
  }

  // What had the focus when a swap took it away (browsers differ in whether, and when, they say
  // so with a blur): forgotten as soon as the focus or a click goes anywhere else.
  document.addEventListener("focusin", function (event) {
    focusKey = stage.contains(event.target) ? keyOf(event.target) : null;
    if (focusKey) rove(event.target);
  });
  document.addEventListener("pointerdown", function (event) {
    if (!stage.contains(event.target)) focusKey = null;
  });

  function syncForm() {
    if (!form) return;
    var names = function (selector, attr) {
      return Array.prototype.map.call(findAll(selector), function (n) { return n.dataset[attr]; });
    };
    [[form.elements.guest, names("g.guest", "guest").sort()],
      [form.elements.network, names("g.switch", "switch")]].forEach(function (pair) {
      var select = pair[0], keep = select.value;
      select.textContent = "";
      pair[1].forEach(function (name) { select.add(new Option(name, name)); });
      if (pair[1].indexOf(keep) !== -1) select.value = keep;
    });
  }

  function swapped() {
    sizeOverlay();
    settle();
    drawPending();
    syncForm();
    var active = document.activeElement;
    if (focusKey && (!active || active === document.body)) {
      var node = find(focusKey);
      if (node) node.focus({ preventScroll: true });
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "topo-live") swapped();
  });

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      attach(form.elements.guest.value, form.elements.network.value);
    });
  }

  sizeOverlay();
  settle();
  if (restore()) apply();
  else fit();
})();
