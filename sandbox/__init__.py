"""The sandbox bank gateway: a simulator of the ONLINE channel's bank, run as its own process.

It speaks the HTTP protocol documented in ``sandbox/PROTOCOL.md`` (signed merchant API, hosted pay
page, signed callbacks with retries, queries, refunds, payouts, daily statement CSV) and has fault
knobs so that the portal's retries, compensation and reconciliation are exercised for real.

Modules: ``signing`` (the HMAC algorithm, dependency-free), ``config`` (merchants and knobs),
``store`` (sqlite), ``gateway`` (the state machines), ``callbacks`` (delivery and the dispatcher
thread), ``app`` (the Flask factory ``create_sandbox_app``), ``testing`` (start it as a subprocess,
a signed client and a callback receiver, for tests). Importing this package imports nothing else.
"""
