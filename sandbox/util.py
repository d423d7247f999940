"""Money and time helpers of the gateway (Decimal only, Asia/Shanghai)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

# China has had no daylight saving time since 1991, so a fixed +08:00 offset is Asia/Shanghai exactly
# (and needs no tz database on the machine).
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
_AMOUNT_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def parse_amount(value) -> Decimal | None:
    """A positive amount with at most two decimals, from a JSON string (``"1250.00"``) or an exact
    JSON number (parsed as Decimal, never float); None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        value = str(value)
    if not isinstance(value, str) or not _AMOUNT_RE.match(value.strip()):
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return None
    if amount <= 0 or amount > MAX_AMOUNT:
        return None
    return amount.quantize(CENT)


def money(value: Decimal | str) -> str:
    """``"1250.00"``; negative values keep their sign."""
    return f"{Decimal(value).quantize(CENT):f}"


def display_cny(value: Decimal | str) -> str:
    """``"¥1,250.00"`` for the pay page."""
    return f"¥{Decimal(value).quantize(CENT):,.2f}"


def iso(ts: float | None) -> str | None:
    """Unix time → ISO 8601 with the +08:00 offset, seconds precision."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, SHANGHAI).isoformat(timespec="seconds")


def shanghai_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, SHANGHAI).date().isoformat()


def new_id(prefix: str, ts: float | None = None) -> str:
    """``GW`` + yyyymmddHHMMSS (Shanghai) + 8 random digits: digits only after the prefix."""
    stamp = datetime.fromtimestamp(time.time() if ts is None else ts, SHANGHAI).strftime("%Y%m%d%H%M%S")
    return f"{prefix}{stamp}{secrets.randbelow(10**8):08d}"


def new_event_id() -> str:
    return "EV" + uuid.uuid4().hex.upper()
