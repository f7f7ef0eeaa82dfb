// The page's one polite status region (base.html: #announcer) says, once, what a person waits
// for: a job's outcome (jobs/_outcome.html), a lease arriving on the switch being looked at
// (networks/lease_rows.html). The parts that live.js swaps are not live regions themselves: drawn
// again on every refresh, they would be read out each time.
//
// An element with data-announce="words" and data-announce-key="…" is news the first time its key
// is swapped in; what the page showed when it was drawn is not. With data-announce-live it is
// news only when the page refreshed by itself: rows that a filter or sort of the person's brings
// back are not new.
(function () {
  "use strict";
  var region = document.getElementById("announcer");
  if (!region) return;
  var seen = new Set();
  var waiting = [];
  var timer = null;

  function news(root) {
    if (!root.querySelectorAll) return [];
    var found = Array.from(root.querySelectorAll("[data-announce-key]"));
    if (root.matches("[data-announce-key]")) found.unshift(root);
    return found;
  }

  // Cleared first, so that words the region already holds are read again as a new message.
  function say() {
    timer = null;
    var words = waiting.join(" ");
    waiting = [];
    region.textContent = "";
    setTimeout(function () { region.textContent = words; }, 50);
  }

  news(document.body).forEach(function (el) { seen.add(el.dataset.announceKey); });

  document.addEventListener("htmx:afterSwap", function (event) {
    var config = event.detail.requestConfig;
    var byItself = !!(config && config.headers && config.headers["X-Live-Refresh"]);
    news(event.target).forEach(function (el) {
      var key = el.dataset.announceKey;
      if (seen.has(key)) return;
      seen.add(key);
      if (el.hasAttribute("data-announce-live") && !byItself) return;
      waiting.push(el.dataset.announce);
    });
    if (waiting.length && !timer) timer = setTimeout(say, 100);
  });
})();
