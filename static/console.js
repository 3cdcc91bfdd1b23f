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

// Interaction (issue 17; DECISIONS.md "Console interaction"): what a press does while the
// server works, where its outcome shows, and where focus goes after htmx swaps the page.
//
// Progress: a button with data-busy="Checking…" says so, with a spinner, from the moment
// its request starts; its form is aria-busy. Disabling the buttons is htmx's own
// hx-disabled-elt, and hx-sync="this:drop" drops a second submission while one is out.
//
// Feedback: every outcome a swap brings (a card's notice, the page's flash) is read out
// through one live region that exists from the start (a region inserted along with its
// text is not announced); when the message is outside the viewport a toast repeats it
// at the bottom of the window.
//
// Focus: after a swap, the error summary of a refused form; else the control that was
// pressed, if it is there again (by id, form action or link); else the message about what
// was acted on; else the swapped page's autofocus field; else its heading.
(function () {
  "use strict";

  var live = null;
  var toast = null;
  var busyButtons = [];
  var remembered = null;

  function regions() {
    if (live) return;
    live = document.createElement("div");
    live.id = "sb-live";
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    toast = document.createElement("div");
    toast.id = "sb-toast";
    toast.className = "toast";
    toast.hidden = true;
    var text = document.createElement("p");
    text.className = "toast-text";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link toast-close";
    close.textContent = "Dismiss";
    close.addEventListener("click", hideToast);
    toast.append(text, close);
    // Inside <main>, a landmark like all content (fixed in place by CSS all the same).
    (document.querySelector("main") || document.body).append(live, toast);
  }

  function announce(text) {
    regions();
    live.textContent = "";
    // A change after a pause is announced even when the same words come twice.
    window.setTimeout(function () { live.textContent = text; }, 60);
  }

  function showToast(message) {
    regions();
    toast.querySelector(".toast-text").textContent = message.textContent.trim();
    toast.classList.toggle("error", message.classList.contains("error"));
    toast.hidden = false;
    document.body.classList.add("has-toast");
    // The toast must not cover what has focus (on a phone it spans the width).
    var t = toast.getBoundingClientRect();
    var f = document.activeElement && document.activeElement.getBoundingClientRect();
    if (f && f.bottom > t.top - 8) window.scrollBy(0, f.bottom - t.top + 16);
  }

  function hideToast() {
    if (!toast) return;
    toast.hidden = true;
    document.body.classList.remove("has-toast");
  }

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  }

  // The button a request came from: itself, or the submitter of its form (the hidden
  // default button of a form stands for the visible one it names).
  function pressedButton(detail) {
    var elt = detail.elt;
    var button = null;
    if (elt && elt.tagName === "BUTTON") button = elt;
    var event = detail.requestConfig && detail.requestConfig.triggeringEvent;
    if (!button && event && event.submitter) button = event.submitter;
    if (button && button.getAttribute("data-busy-shows")) {
      button = document.getElementById(button.getAttribute("data-busy-shows")) || button;
    }
    return button;
  }

  function busy(button) {
    var label = button.getAttribute("data-busy");
    if (!label || button.classList.contains("busy")) return;
    var kept = Array.prototype.slice.call(button.childNodes);
    var spinner = document.createElement("span");
    spinner.className = "spinner";
    spinner.setAttribute("aria-hidden", "true");
    var words = document.createElement("span");
    words.textContent = label;
    var parts = [spinner, words];
    // The visually hidden part of the name ("Test<span> Claude</span>") stays.
    kept.forEach(function (n) {
      if (n.nodeType === 1 && n.classList.contains("visually-hidden")) parts.push(n.cloneNode(true));
    });
    button.replaceChildren.apply(button, parts);
    button.classList.add("busy");
    button.setAttribute("aria-disabled", "true");
    if (button.form) button.form.setAttribute("aria-busy", "true");
    busyButtons.push({ button: button, kept: kept });
    announce(label);
  }

  function idle() {
    busyButtons.forEach(function (b) {
      if (!b.button.isConnected) return;
      b.button.replaceChildren.apply(b.button, b.kept);
      b.button.classList.remove("busy");
      b.button.removeAttribute("aria-disabled");
      if (b.button.form) b.button.form.removeAttribute("aria-busy");
    });
    busyButtons = [];
  }

  // What identifies a control across a swap: its id, its link, or its form's action.
  function keyOf(el) {
    if (!el || el === document.body || !el.closest) return null;
    if (el.id) return { id: el.id };
    if (el.tagName === "A" && el.getAttribute("href")) return { href: el.getAttribute("href") };
    var form = el.closest("form");
    if (form && form.getAttribute("action")) {
      return { action: form.getAttribute("action"), text: el.textContent.trim() };
    }
    return null;
  }

  function attr(name, value) {
    return "[" + name + "=\"" + (window.CSS && CSS.escape ? CSS.escape(value) : value) + "\"]";
  }

  function findKey(key, root) {
    if (!key) return null;
    if (key.id) return root.querySelector("#" + CSS.escape(key.id));
    if (key.href) return root.querySelector("a" + attr("href", key.href));
    var form = root.querySelector("form" + attr("action", key.action));
    return form && form.querySelector("button:not([aria-hidden=true])");
  }

  function visible(el) {
    return !!el && el.getClientRects().length > 0 && !el.closest("[hidden]");
  }

  function focusOn(el) {
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    // Moved focus brings its element into view with room around it, not at the very edge.
    var r = el.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) el.scrollIntoView({ block: "center" });
    el.focus({ preventScroll: true });
  }

  function afterSwap(content) {
    var errors = content.querySelector(".form-errors");
    var message = content.querySelector(".notice") || content.querySelector(".flash");
    var key = remembered;
    var again = findKey(key, content);
    remembered = null;
    var target = (visible(errors) && errors)
      || (visible(again) && again)
      || (visible(message) && message)
      || content.querySelector("[autofocus]")
      || content.querySelector("h2");
    if (target) focusOn(target);
    if (errors) return; // role="alert", and focused
    if (message) {
      announce(message.textContent.trim());
      if (!inView(message)) showToast(message);
    } else if (key && key.id === "provider-load-models") {
      var status = content.querySelector("#pf-models-status");
      if (status) announce(status.textContent.trim());
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var detail = event.detail;
    hideToast();
    var button = pressedButton(detail);
    remembered = keyOf(button) || keyOf(document.activeElement) || keyOf(detail.elt);
    if (button) busy(button);
  });
  document.addEventListener("htmx:afterRequest", idle);
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "content") afterSwap(target);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && toast && !toast.hidden) hideToast();
  });

  function hideNoJs(root) {
    root.querySelectorAll("[data-no-js]").forEach(function (el) { el.hidden = true; });
  }
  document.addEventListener("DOMContentLoaded", function () { hideNoJs(document); regions(); });
  document.addEventListener("htmx:load", function (event) { hideNoJs(event.target); });
  if (document.readyState !== "loading") { hideNoJs(document); regions(); }
})();
