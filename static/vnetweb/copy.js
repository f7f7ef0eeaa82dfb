// The new token's key (tokens/list.html) is focused and selected. Copy buttons: a button with data-copy="id" copies that element's text (an
// input's value) to the clipboard and says so in the page's status region. Hidden until this
// script finds a clipboard it may write to (a secure context: https, or localhost); without one
// the key's field is still there to select and copy by hand.
(function () {
  "use strict";
  // The new key, selected: ready to copy, and read out first.
  var key = document.getElementById("new-key");
  if (key) { key.focus(); key.select(); }
  if (!navigator.clipboard || !window.isSecureContext) return;
  var region = document.getElementById("announcer");

  function say(words) {
    if (region) region.textContent = words;
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = "value" in source ? source.value : source.textContent;
      navigator.clipboard.writeText(text).then(
        function () { say("Copied."); button.textContent = "Copied"; },
        function () { say("Could not copy: select the text and copy it by hand."); }
      );
    });
  });
})();
