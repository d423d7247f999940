// Checkout and payment screens (loaded as a file: the CSP allows no inline script).
"use strict";

// Controls that only work with this script stay hidden without it.
function showScriptControls() {
  document.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", showScriptControls);
} else {
  showScriptControls();
}

// "Pay every row with": one channel for all rows (each row can still be changed on its own), then
// the live validation runs as if the user had changed the rows.
document.addEventListener("change", function (event) {
  var all = event.target;
  if (!all.matches || !all.matches("[data-channel-all]") || !all.value) { return; }
  var form = all.form;
  form.querySelectorAll('select[data-testid="alloc-channel"]').forEach(function (select) {
    var option = Array.prototype.find.call(select.options, function (o) { return o.value === all.value; });
    if (option && !option.disabled) { select.value = all.value; }
  });
  form.dispatchEvent(new Event("input", { bubbles: true }));
});

// One click makes one payment: the button is disabled once the checkout form is on its way (the
// server answers a repeated form with the same payment anyway).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.id !== "checkout-form" || event.defaultPrevented) { return; }
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  form.dataset.sent = "1";
  var button = form.querySelector('[data-testid="checkout-submit"]');
  if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
});
window.addEventListener("pageshow", function () {
  var form = document.getElementById("checkout-form");
  if (form) {
    delete form.dataset.sent;
    var button = form.querySelector('[data-testid="checkout-submit"]');
    if (button) { button.disabled = false; }
  }
});
