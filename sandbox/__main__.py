"""``python -m sandbox``: run the sandbox gateway as its own process.

    python -m sandbox --host 127.0.0.1 --port 8001 --db PATH \\
        [--merchant MCH1001:API_SECRET:CALLBACK_SECRET ...] [--admin-token TOKEN] [--faults JSON]
        [--webhook-secret SYSTEM:whsec_... ...]

Environment fallbacks: SANDBOX_HOST, SANDBOX_PORT, SANDBOX_DB, SANDBOX_MERCHANTS
("MCH1001:api:cb,MCH2:api2:cb2"), SANDBOX_ADMIN_TOKEN, SANDBOX_FAULTS (JSON), SANDBOX_WEBHOOK_SECRETS
("order-system:whsec_...,credit-system:whsec_..."). Command-line options win.
Port 0 picks a free port. Once listening it prints exactly one line to stdout:
``sandbox gateway listening on http://HOST:PORT``. SIGTERM / SIGINT stop it gracefully.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

from .app import create_sandbox_app
from .config import DEMO_MERCHANT, ConfigError, SandboxConfig, parse_merchants, parse_webhook_secrets, validate_faults

log = logging.getLogger("sandbox")


def build_config(argv: list[str] | None = None) -> tuple[argparse.Namespace, SandboxConfig]:
    env = os.environ
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Sandbox bank gateway (see sandbox/PROTOCOL.md)")
    p.add_argument("--host", default=env.get("SANDBOX_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env.get("SANDBOX_PORT", "8001")))
    p.add_argument("--db", default=env.get("SANDBOX_DB", "instance/sandbox.db"), help="sqlite file (created)")
    p.add_argument("--merchant", action="extend", nargs="+", default=[], metavar="NO:API_SECRET:CALLBACK_SECRET",
                   help="one or more, repeatable; API_SECRET may be 'new|old' to accept both while rotating")
    p.add_argument("--admin-token", default=env.get("SANDBOX_ADMIN_TOKEN") or None)
    p.add_argument("--faults", default=env.get("SANDBOX_FAULTS") or None, help="JSON object of knobs")
    p.add_argument("--webhook-secret", action="extend", nargs="+", default=[], metavar="SYSTEM:WHSEC",
                   help="the Standard Webhooks secret of a receiver (order-system, credit-system, finance-system)")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")
    p.add_argument("--log-level", default=env.get("SANDBOX_LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    try:
        specs = args.merchant or [s for s in env.get("SANDBOX_MERCHANTS", "").split(",") if s.strip()]
        merchants = parse_merchants(specs)
        if not merchants:
            merchants = parse_merchants([DEMO_MERCHANT])
            print(f"sandbox: no merchant configured, using the demo merchant {DEMO_MERCHANT}", file=sys.stderr)
        faults = validate_faults(json.loads(args.faults)) if args.faults else {}
        hooks = parse_webhook_secrets(args.webhook_secret or env.get("SANDBOX_WEBHOOK_SECRETS", "").split(","))
    except (ConfigError, ValueError) as exc:
        p.error(str(exc))
    return args, SandboxConfig(db_path=args.db, merchants=merchants, admin_token=args.admin_token, faults=faults,
                               webhook_secrets=hooks)


def main(argv: list[str] | None = None) -> int:
    args, config = build_config(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # werkzeug logs every request at INFO; keep the output quiet unless asked.
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.access_log else logging.WARNING)

    app = create_sandbox_app(config)
    gateway = app.extensions["sandbox"]
    server = make_server(args.host, args.port, app, threaded=True)
    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    gateway.start_dispatcher()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                               name="sandbox-http", daemon=True)
    serving.start()
    print(f"sandbox gateway listening on http://{args.host}:{server.port}", flush=True)
    log.info("db %s, merchants %s", config.db_path, ", ".join(sorted(config.merchants)))
    while not stop.wait(0.5):
        if not serving.is_alive():
            break
    log.info("stopping")
    server.shutdown()
    gateway.close()  # stops the dispatcher, wakes sleeping "timeout" payouts, closes the database
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
