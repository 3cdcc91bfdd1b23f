// Switchboard console: destructive actions ask first (issue 17, item 3). Loaded as a file
// (the CSP allows no inline script).
//
// A destructive action is a link to its confirmation page, <a data-confirm="question"
// data-confirm-detail="consequence" data-confirm-label="confirm button" data-confirm-action=
// "POST url" [data-confirm-target="#content"] [data-confirm-refusal="why not"]>. Without
// JavaScript the link opens that page, whose form POSTs. With this script the link opens
// the same question in a modal <dialog>: focus starts on Cancel and stays inside the
// dialog (Tab and Shift+Tab wrap), Escape or Cancel closes it and gives focus back to the
// link, and the confirm button posts the action — through htmx into the target when the
// link names one, as a plain form post otherwise. Never window.confirm().
(function () {
  "use strict";

  var dialog = null;
  var trigger = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function build() {
    dialog = el("dialog", {
      id: "confirm-dialog", "class": "confirm-dialog",
      "aria-labelledby": "confirm-dialog-title", "aria-describedby": "confirm-dialog-detail"
    });
    var title = el("h2", { id: "confirm-dialog-title" });
    var detail = el("p", { id: "confirm-dialog-detail" });
    var form = el("form", { method: "post", id: "confirm-dialog-form" });
    var csrf = el("input", { type: "hidden", name: "csrf_token" });
    var actions = el("div", { "class": "actions" });
    var go = el("button", { type: "submit", id: "confirm-dialog-confirm", "class": "confirm-danger" });
    var cancel = el("button", { type: "button", id: "confirm-dialog-cancel", "class": "secondary" }, "Cancel");
    actions.appendChild(go);
    actions.appendChild(cancel);
    form.appendChild(csrf);
    form.appendChild(actions);
    dialog.appendChild(title);
    dialog.appendChild(detail);
    dialog.appendChild(form);
    document.body.appendChild(dialog);

    cancel.addEventListener("click", function () { dialog.close(); });
    // Escape fires "cancel", which closes the dialog natively; "close" gives focus back.
    dialog.addEventListener("close", function () {
      if (trigger && trigger.isConnected) trigger.focus();
    });
    // Clicking the backdrop (outside the dialog's box) cancels too.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      var items = Array.prototype.filter.call(
        dialog.querySelectorAll("button, a[href], input:not([type=hidden])"),
        function (x) { return !x.hidden && !x.disabled; });
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    form.addEventListener("submit", function () {
      // The request is on its way (htmx or the browser): the question is answered.
      setTimeout(function () { if (dialog.open) dialog.close(); }, 0);
    });
  }

  function open(link) {
    if (!dialog) build();
    trigger = link;
    var form = dialog.querySelector("form");
    var go = dialog.querySelector("#confirm-dialog-confirm");
    var cancel = dialog.querySelector("#confirm-dialog-cancel");
    var refusal = link.getAttribute("data-confirm-refusal");
    dialog.querySelector("#confirm-dialog-title").textContent = link.getAttribute("data-confirm");
    dialog.querySelector("#confirm-dialog-detail").textContent =
      refusal || link.getAttribute("data-confirm-detail");
    go.textContent = link.getAttribute("data-confirm-label");
    // Red for what cannot be undone (the trigger is "danger"), the primary style otherwise,
    // as on the confirmation page.
    go.className = link.classList.contains("danger") ? "confirm-danger" : "";
    go.hidden = !!refusal;
    cancel.textContent = refusal ? "Close" : "Cancel";
    var meta = document.querySelector('meta[name="csrf-token"]');
    form.querySelector('input[name="csrf_token"]').value = meta ? meta.content : "";
    var action = link.getAttribute("data-confirm-action");
    var target = link.getAttribute("data-confirm-target");
    form.setAttribute("action", action);
    if (target && window.htmx) {
      form.setAttribute("hx-post", action);
      form.setAttribute("hx-target", target);
      window.htmx.process(form);
    } else {
      form.removeAttribute("hx-post");
      form.removeAttribute("hx-target");
      if (window.htmx) window.htmx.process(form);
    }
    dialog.showModal();
    cancel.focus();
  }

  function mark(root) {
    root.querySelectorAll("a[data-confirm]").forEach(function (a) {
      a.setAttribute("aria-haspopup", "dialog");
    });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey ||
        event.shiftKey || event.altKey) return;
    var link = event.target.closest && event.target.closest("a[data-confirm]");
    if (!link || typeof HTMLDialogElement === "undefined") return;
    event.preventDefault();
    open(link);
  });
  document.addEventListener("DOMContentLoaded", function () { mark(document); });
  document.addEventListener("htmx:load", function (event) { mark(event.target); });
  if (document.readyState !== "loading") mark(document);
})();
