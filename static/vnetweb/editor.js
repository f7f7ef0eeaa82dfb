// The switch editor: show only the parts that the chosen mode uses. Without JavaScript every
// part stays visible and the server ignores what the mode does not take.
(function () {
  const form = document.getElementById("switch-form");
  if (!form) return;
  const mode = form.querySelector("select[name=mode]");
  function update() {
    form.querySelectorAll("[data-modes]").forEach(function (part) {
      part.hidden = part.dataset.modes.split(" ").indexOf(mode.value) === -1;
    });
  }
  mode.addEventListener("change", update);
  update();
})();
