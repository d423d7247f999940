// Finance desk and ledger screens. Their HTMX forms answer a bad input (422) or an action somebody else
// already took (409) with the fragment that explains it: show it in place instead of dropping it.
"use strict";
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 422 || status === 409) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
