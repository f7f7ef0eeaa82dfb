// Clicks `action` on the row of network `name` and resolves with the milliseconds until the row's
// state cell reads `want` (a MutationObserver sees the swap). Logs htmx requests in window.__log.
