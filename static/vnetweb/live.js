// The page's one live-update channel (networks/live.py, networks/views/live.py).
//
// One EventSource per open page. Each message says which host, networks and jobs changed; every
// element with data-live="<url>" whose data-live-hosts ("*" for any), data-live-networks or
// data-live-jobs names one of them is fetched again from its URL and swapped in place, unless
// the change is about one topic only (the switch's counters) that it does not list in
// data-live-topics, so sort, filter, page and scroll position stay as the user left them.
// htmx itself fetches and swaps (htmx.ajax): it sends its own request headers, follows an
// HX-Redirect and fires its events; this script only decides what to fetch and when. A part is
// never fetched twice at the same time: changes that arrive meanwhile make one more fetch once
// it is back. When only jobs moved on (a job queued, running, done) a table with data-live-rows
// fetches just the rows concerned and htmx swaps each by its id (select-oob).
(function () {
  "use strict";
  var url = document.body.dataset.liveEvents;
  if (!url || !window.EventSource || !window.htmx) return;
  var badge = document.getElementById("live-status");
  var queued = new Set();
  var inflight = {};
  var timer = null;
  var rowsWanted = {};
  var connectedBefore = false;
  // X-Live-Refresh: the page asked by itself, the user did nothing (vnetweb/idle.py); it also
  // marks our requests for the beforeSwap check below.
  var LIVE = { "X-Live-Refresh": "1" };

  function show(state, words) {
    if (!badge) return;
    badge.className = "live " + state;
    badge.textContent = words;
  }

  function listed(value, id) {
    return !!value && value.split(" ").indexOf(String(id)) !== -1;
  }

  function concerns(el, change) {
    var d = el.dataset;
    // A change of one aspect only (say the switch's counters) concerns only the parts showing it.
    if (change.topic && !listed(d.liveTopics, change.topic)) return false;
    if (d.liveHosts === "*" || listed(d.liveHosts, change.host)) return true;
    return change.networks.some(function (id) { return listed(d.liveNetworks, id); }) ||
      change.jobs.some(function (id) { return listed(d.liveJobs, id); });
  }

  function schedule(el) {
    if (!el.id) return;
    queued.add(el.id);
    if (!timer) timer = setTimeout(flush, 0);
  }

  function flush() {
    timer = null;
    var ids = Array.from(queued);
    queued.clear();
    ids.forEach(refresh);
    Object.keys(rowsWanted).forEach(function (id) {
      var networks = rowsWanted[id];
      delete rowsWanted[id];
      if (!queued.has(id) && !inflight[id]) refreshRows(id, networks);
    });
  }

  // Just these networks' rows of the table in part `id` (their jobs changed, nothing else): one
  // request, and htmx swaps each row in by its id, the part itself untouched.
  function refreshRows(id, networks) {
    var el = document.getElementById(id);
    if (!el) return;
    var rows = el.dataset.liveRows;
    var query = networks.map(function (n) { return "id=" + n; }).join("&");
    var ids = networks.map(function (n) { return "net-" + n; }).join(",");
    htmx.ajax("GET", rows + (rows.indexOf("?") === -1 ? "?" : "&") + query,
      { source: el, target: el, swap: "none", selectOOB: ids, headers: LIVE })
      .catch(function () { schedule(el); });
  }

  // Rows that could not be had (say, refused): the whole part is asked for instead.
  document.addEventListener("htmx:responseError", function (event) {
    var config = event.detail.requestConfig;
    var part = config && config.elt;
    if (!part || !config.headers["X-Live-Refresh"] || !part.dataset.liveRows) return;
    if (config.path.indexOf(part.dataset.liveRows) === 0) schedule(part);
  });

  function rowsOnly(el, change) {
    if (!change.jobs_only || !el.dataset.liveRows || !change.networks.length) return null;
    return change.networks.filter(function (n) { return el.querySelector("#net-" + n); });
  }

  // Part `id` asked again from its URL and swapped in by htmx; one request at a time per part.
  function refresh(id) {
    if (inflight[id]) { inflight[id].again = true; return; }
    var el = document.getElementById(id);
    if (!el) return;
    inflight[id] = { again: false, asked: el.dataset.live };
    function done() {
      var again = inflight[id].again;
      delete inflight[id];
      if (again) refresh(id);
    }
    // Errors are not swapped (htmx's default): the next change, or a reconnect, asks again.
    htmx.ajax("GET", el.dataset.live, { source: el, target: el, swap: "outerHTML", headers: LIVE })
      .then(done, done);
  }

  // A refresh that set out before the user changed the filter (the part's URL changed, or the
  // part was swapped meanwhile) must not undo it: it is dropped, and asked again.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;
    if (!config || !config.headers["X-Live-Refresh"]) return;
    var part = config.elt;
    var mine = part && inflight[part.id];
    if (!mine) return;
    if (!document.body.contains(part) || part.dataset.live !== mine.asked) {
      event.detail.shouldSwap = false;
      mine.again = true;
    }
  });

  function parts() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  }

  // A page about one network says so: its worker samples that switch's counters while it is open.
  var watching = Array.prototype.map.call(
    document.querySelectorAll("[data-live-watch]"), function (el) { return el.dataset.liveWatch; });
  if (watching.length) url += (url.indexOf("?") === -1 ? "?" : "&") + "watch=" + watching.join(",");
  var source = new EventSource(url);
  source.addEventListener("hello", function () {
    show("on", "live");
    // After a break, anything may have changed; on first contact, only parts showing a job in
    // progress can have missed its end in the moment between the page and the stream.
    parts().forEach(function (el) {
      if (connectedBefore || el.hasAttribute("data-live-pending")) schedule(el);
    });
    connectedBefore = true;
  });
  source.addEventListener("change", function (event) {
    var change = JSON.parse(event.data);
    parts().forEach(function (el) {
      if (!concerns(el, change)) return;
      var networks = rowsOnly(el, change);
      if (networks === null) { schedule(el); return; }
      if (!networks.length) return;  // none of its rows is on this page
      rowsWanted[el.id] = (rowsWanted[el.id] || []).concat(networks);
      if (!timer) timer = setTimeout(flush, 0);
    });
  });
  source.addEventListener("unavailable", function () {
    show("paused", "live updates paused (Redis unreachable)");
  });
  source.addEventListener("error", function () {
    if (source.readyState === EventSource.CLOSED) show("paused", "not live: reload the page");
    else show("paused", "reconnecting…");
  });
})();

// The filter form leaves out what is empty, so that the URL it puts in the address bar is short
// enough to read and share (?q=lab&state=active rather than every field).
document.addEventListener("htmx:configRequest", function (event) {
  if (!event.detail.elt.matches || !event.detail.elt.matches("form.filters")) return;
  var params = event.detail.parameters;  // htmx 2: FormData
  Array.from(params.keys()).forEach(function (name) {
    if (params.get(name) === "") params.delete(name);
  });
});

// A form inside [data-show-errors] shows the server's refusal (400: why nothing was queued; 409:
// made on a page older than someone else's change, and what changed; 422: the form again, with
// its fields' errors) where its answer goes, instead of htmx's default of dropping error responses.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  // The event's `elt` is the swap's target; the form that asked is the request's.
  var asker = event.detail.requestConfig ? event.detail.requestConfig.elt : event.detail.elt;
  var refused = status === 400 || status === 409 || status === 422;
  if (refused && asker && asker.closest("[data-show-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
