// Clicks `action` on the row of network `name` and resolves with the milliseconds until the row's
// state cell reads `want` (a MutationObserver sees the swap). Logs htmx requests in window.__log.
([name, action, want]) => new Promise((resolve, reject) => {
  const cell = () => document.querySelector(`tr[data-network="${name}"] td.state`);
  const start = performance.now();
  window.__start = start;
  window.__log = [];
  if (!window.__hooked) {
    window.__hooked = true;
    for (const ev of ["htmx:beforeRequest", "htmx:afterRequest", "htmx:afterSwap"]) {
      document.body.addEventListener(ev, (e) => {
        const verb = e.detail.requestConfig ? e.detail.requestConfig.verb : "";
        window.__log.push([ev.slice(5), Math.round(performance.now() - window.__start), verb]);
      });
    }
  }
  const observer = new MutationObserver(() => {
    const c = cell();
    if (c && c.textContent.trim() === want) {
      observer.disconnect();
      resolve(performance.now() - start);
    }
  });
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
  setTimeout(() => {
    observer.disconnect();
    reject(new Error(`no ${want} after 20 s`));
  }, 20000);
  document.querySelector(`tr[data-network="${name}"] button[data-action="${action}"]`).click();
})
