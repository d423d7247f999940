"""Reconciliation (对账, docs/DOMAIN.md §8): a channel's statement of one Asia/Shanghai day matched
against our channel payments, set-based in SQL.

- ``lines.py``: a statement line as imported, and the file's fingerprint;
- ``statement_import.py``: the idempotent import (same file twice: one import; another file: supersedes);
- ``ledger_statement.py``: WALLET and CREDIT, whose "statement" is our own ledger, and the check that
  every balance is the sum of its entries (a run figure and an alert);
- ``matching.py``: the SQL that gives every line and every payment its class;
- ``runs.py``: a run per day and channel (settle what the channel saw succeed, match, exceptions, events);
- ``online_fetch.py``: fetch an ONLINE channel's statement from the gateway and reconcile it;
- ``wire_matching.py``: WIRE bank statement credit lines matched to wire payments by their reference
  code and confirmed (the voucher confirm's path); the rest kept as unidentified receipts;
- ``wire_uploads.py``: an uploaded bank statement held between its preview and the import;
- ``resolution.py``: what every resolution of an exception shares (note, locks, RESOLVED with the
  action, audit; nothing is deleted) and the write-off;
- ``exception_actions.py``: the actions that fit each class (requery, accept the channel's figure,
  link to a payment, reverse, write off), money only through settlement or the wallet's top-up;
- ``reversal.py``: the reversal of what we recorded as received but the channel did not take
  (MISSING_IN_CHANNEL, a lower AMOUNT_MISMATCH): the settlement's part that never happened undone;
- ``exception_approval.py``: their maker-checker (a second finance user above the threshold);
- ``receipt_actions.py``: finance decides an unidentified receipt (accept a suggestion or link a
  payment, assign to a reseller's wallet with the wallet's maker-checker, return);
- ``day_export.py``: a day as CSV/XLSX, from the finance API's read model;
- ``queries.py`` and ``statistics.py``: the read side of the finance API (docs/API.md §7).
"""
