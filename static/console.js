// Switchboard console: small progressive enhancements, loaded as a file (the CSP allows no
// inline script). Without JavaScript every page works as it is; this only adds conveniences.
//
// Copy buttons: a <button data-copy="ID" hidden> next to a read-only field with id ID (a
// one-time token or invitation link). The button is shown once this script runs; pressing
// it copies the field's value and says so in the status element the button names through
// aria-describedby. Buttons that htmx swaps in later are shown too.
(function () {
  "use strict";

  function reveal(root) {
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (b) {
      b.hidden = false;
    });
  }

  function say(button, text) {
    var id = button.getAttribute("aria-describedby");
    var status = id && document.getElementById(id);
    if (status) status.textContent = text;
  }

  function copy(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { say(button, "Copied to the clipboard."); };
    var byHand = function () {
      field.focus();
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      if (ok) done(); else say(button, "Selected: press Ctrl+C (or ⌘C) to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, byHand);
    } else {
      byHand();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });
  if (document.readyState !== "loading") reveal(document);
})();
