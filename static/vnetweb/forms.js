// After a refused save the focus goes where the person must act: the first field in error
// (Django marks it aria-invalid and ties its error to it), or the error summary when the refusal
// is about no one field (a stale edit, a wrong password). On a page the server drew again, and on
// what htmx swapped in for a request of the person's; never after a live refresh, which may come
// while they type.
(function () {
  "use strict";
  function shown(el) {
    return !el.disabled && el.getClientRects().length > 0;
  }

  function firstError(root) {
    var fields = root.querySelectorAll("form [aria-invalid='true']");
    for (var i = 0; i < fields.length; i++) if (shown(fields[i])) return fields[i];
    return root.querySelector("[data-error-summary], [data-stale]");
  }

  function focusFirstError(root) {
    var target = firstError(root);
    if (target) target.focus();
  }

  focusFirstError(document);
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.headers && config.headers["X-Live-Refresh"]) return;
    if (event.target.querySelectorAll) focusFirstError(event.target);
  });
})();
