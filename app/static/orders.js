// The payment order list (/orders): a selection of payable orders that survives filtering, sorting and
// paging (kept in sessionStorage per user), its running total, and the way to checkout.
// Amounts are counted in cents with BigInt: never a float.
"use strict";
(function () {
  var box = null;

  function storeKey() { return box ? "selection:" + box.dataset.selectionKey : null; }

  function load() {
    try { return JSON.parse(window.sessionStorage.getItem(storeKey()) || "{}") || {}; } catch (e) { return {}; }
  }

  function save(selection) {
    try { window.sessionStorage.setItem(storeKey(), JSON.stringify(selection)); } catch (e) { /* private mode */ }
  }

  function cents(text) {
    var m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text || "").trim());
    if (!m) { return 0n; }
    return BigInt(m[1]) * 100n + BigInt(((m[2] || "") + "00").slice(0, 2));
  }

  function money(total) {
    var whole = (total / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var part = (total % 100n).toString().padStart(2, "0");
    return "\u00a5" + whole + "." + part;
  }

  function render(selection) {
    var ids = Object.keys(selection);
    var total = 0n;
    ids.forEach(function (id) { total += cents(selection[id]); });
    var totalEl = document.getElementById("selected-total");
    var countEl = document.getElementById("selected-count");
    if (totalEl) { totalEl.textContent = money(total); totalEl.dataset.cents = total.toString(); }
    if (countEl) { countEl.textContent = String(ids.length); }
    var button = document.querySelector('[data-testid="checkout-button"]');
    if (button) { button.disabled = ids.length === 0; }
    var all = document.getElementById("order-select-page");
    var boxes = document.querySelectorAll('[data-testid="order-select"]');
    if (all) {
      var checked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
      all.disabled = boxes.length === 0;
    }
  }

  // Bring the rows on screen in line with the stored selection: tick what is selected, refresh
  // payable amounts, and drop orders that are shown as no longer payable.
  function sync() {
    if (!box) { return; }
    var selection = load();
    document.querySelectorAll('[data-testid="order-row"]').forEach(function (row) {
      var id = row.dataset.paymentId;
      var check = row.querySelector('[data-testid="order-select"]');
      if (!check) { delete selection[id]; return; }
      if (selection[id] !== undefined) { selection[id] = check.dataset.payable; }
      check.checked = selection[id] !== undefined;
    });
    save(selection);
    render(selection);
  }

  function toggle(check, on) {
    var selection = load();
    if (on) { selection[check.value] = check.dataset.payable; } else { delete selection[check.value]; }
    check.checked = on;
    save(selection);
    return selection;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!box) { return; }
    if (target.matches && target.matches('[data-testid="order-select"]')) {
      render(toggle(target, target.checked));
    } else if (target.id === "order-select-page") {
      var selection = null;
      document.querySelectorAll('[data-testid="order-select"]').forEach(function (b) {
        selection = toggle(b, target.checked);
      });
      render(selection || load());
    }
  });

  document.addEventListener("click", function (event) {
    if (box && event.target.id === "selection-clear") {
      save({});
      document.querySelectorAll('[data-testid="order-select"]').forEach(function (b) { b.checked = false; });
      render({});
    }
  });

  // /checkout?ids=<paymentId>,<paymentId>,... with every selected order, on any page. The selection
  // goes with it (an order paid there must not sit unseen in the next selection).
  document.addEventListener("submit", function (event) {
    if (!box || event.target.id !== "checkout-form") { return; }
    var ids = Object.keys(load());
    event.preventDefault();
    if (ids.length === 0) { return; }
    save({});
    window.location.assign(event.target.action + "?ids=" + ids.map(encodeURIComponent).join(","));
  });

  // The language switch (base layout) links to the URL the page was loaded with; after a filter
  // pushed a new URL, point it at that one so that switching keeps the filter.
  function followUrl() {
    var link = document.querySelector('[data-testid="lang-switch"]');
    if (!link) { return; }
    var lang = new URL(link.href, window.location.href).searchParams.get("lang");
    var here = new URL(window.location.href);
    if (lang) { here.searchParams.set("lang", lang); }
    link.setAttribute("href", here.pathname + here.search);
  }
  document.addEventListener("htmx:pushedIntoHistory", followUrl);
  document.addEventListener("htmx:replacedInHistory", followUrl);

  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("DOMContentLoaded", function () {
    box = document.getElementById("order-selection");
    sync();
  });
  window.addEventListener("pageshow", sync); // back/forward cache
})();
