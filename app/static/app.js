// The portal's one shared script (no inline script anywhere: the CSP forbids it).
// Every HTMX request carries the CSRF token from the page's <meta name="csrf-token">.
"use strict";
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});
// Buttons with data-confirm ask before submitting their form (text comes translated from the server).
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var text = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (text && !window.confirm(text)) { event.preventDefault(); }
});
