"""Start the e2e stack by hand and keep it running, to look at it or to write a test against it:

    .venv/bin/python -m e2e.serve      # prints the URL, the password and the API key; Ctrl-C stops it
    E2E_ATTACH=/tmp/e2e-serve-.../stack.json .venv/bin/python -m pytest e2e -k wallet   # reuse it
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from pathlib import Path

from .support import running_stack


def main() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="e2e-serve-") as tmp, running_stack(Path(tmp)) as stack:
        info = Path(tmp) / "stack.json"
        info.write_text(json.dumps({
            "base_url": stack.base_url, "gateway": stack.gateway.base_url, "password": stack.password,
            "api_key": stack.api_key, "database_url": stack.database_url, "redis_url": stack.redis_url,
            "queue_prefix": stack.queue_prefix, "log_dir": str(stack.log_dir)}))
        print(f"attach  E2E_ATTACH={info}\nportal  {stack.base_url}\ngateway {stack.gateway.base_url}\n"
              f"password {stack.password}\napi key {stack.api_key}\nlogs    {stack.log_dir}", flush=True)
        try:
            while True:
                stack.check_alive()
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
