"""Configuration of a sandbox gateway: its database file, merchants (secrets) and fault knobs."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PAYOUT_OUTCOMES = ("success", "fail", "async_success", "async_fail", "processing_forever", "timeout")
FINAL_OUTCOMES = ("SUCCESS", "FAILED")

#: Every knob, with its default. ``PUT /_sandbox/faults`` merges keys into these; unknown keys → 400.
DEFAULT_FAULTS: dict = {
    "callback_delay_ms": 0,
    "callback_retry_base_ms": 1000,
    "callback_max_attempts": 8,
    "callback_timeout_ms": 5000,
    "drop_rate": 0.0,
    "duplicate_rate": 0.0,
    "out_of_order": False,
    "out_of_order_hold_ms": 1000,
    "query_error_rate": 0.0,
    "payout_outcome": "success",
    "payout_delay_ms": 500,
    "payout_timeout_sleep_ms": 15000,
    "refund_outcome": "SUCCESS",
    "refund_delay_ms": 500,
    "processing_resolves_to": "SUCCESS",
    "processing_delay_ms": 1000,
    "statement_delay_ms": 0,
    "statement_drop_rate": 0.0,
    "statement_amount_change_rate": 0.0,
    "statement_duplicate_rate": 0.0,
    "statement_failed_as_success_rate": 0.0,
    "statement_unknown_success": 0,
    # Deterministic faults for chosen lines: {merchant order no or gateway transaction id: fault}.
    "statement_line_faults": {},
    "statement_latency_ms": 0,
    "seed": None,
}

#: What ``statement_line_faults`` may do to one line (the same as the rates, for that line only).
LINE_FAULTS = ("drop", "amount_change", "duplicate", "failed_as_success")
MAX_LINE_FAULTS = 1000

_INT_KNOBS = {  # name -> minimum
    "callback_delay_ms": 0, "callback_retry_base_ms": 0, "callback_max_attempts": 1, "callback_timeout_ms": 1,
    "out_of_order_hold_ms": 0, "payout_delay_ms": 0, "payout_timeout_sleep_ms": 0, "refund_delay_ms": 0,
    "processing_delay_ms": 0,
    # Negative: a day's statement is available that long before the day closes (tests read today's).
    "statement_delay_ms": -86_400_000, "statement_unknown_success": 0, "statement_latency_ms": 0,
}
_RATE_KNOBS = ("drop_rate", "duplicate_rate", "query_error_rate", "statement_drop_rate",
               "statement_amount_change_rate", "statement_duplicate_rate", "statement_failed_as_success_rate")
_CHOICE_KNOBS = {
    "payout_outcome": PAYOUT_OUTCOMES,
    "refund_outcome": FINAL_OUTCOMES,
    "processing_resolves_to": FINAL_OUTCOMES,
}


class ConfigError(ValueError):
    """A merchant spec or a knob value is not acceptable."""


def validate_faults(values: Mapping) -> dict:
    """The knobs in ``values``, checked and normalised; raises ConfigError naming every bad key."""
    if not isinstance(values, Mapping):
        raise ConfigError("faults must be a JSON object")
    errors: list[str] = []
    out: dict = {}
    for key, value in values.items():
        if key not in DEFAULT_FAULTS:
            errors.append(f"unknown knob {key!r}")
        elif key in _INT_KNOBS:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_KNOBS[key]:
                errors.append(f"{key} must be an integer >= {_INT_KNOBS[key]}")
            else:
                out[key] = value
        elif key in _RATE_KNOBS:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                errors.append(f"{key} must be a number between 0 and 1")
            else:
                out[key] = float(value)
        elif key in _CHOICE_KNOBS:
            choices = _CHOICE_KNOBS[key]
            if isinstance(value, str) and value.upper() in choices:
                value = value.upper()  # "success"/"SUCCESS" both accepted for the upper-case knobs
            if value not in choices:
                errors.append(f"{key} must be one of {', '.join(choices)}")
            else:
                out[key] = value
        elif key == "out_of_order":
            if not isinstance(value, bool):
                errors.append("out_of_order must be true or false")
            else:
                out[key] = value
        elif key == "statement_line_faults":
            problem = _line_faults_problem(value)
            if problem:
                errors.append(problem)
            else:
                out[key] = dict(value)
        elif key == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                errors.append("seed must be an integer or null")
            else:
                out[key] = value
    if errors:
        raise ConfigError("; ".join(errors))
    return out


def _line_faults_problem(value: object) -> str | None:
    if not isinstance(value, Mapping) or len(value) > MAX_LINE_FAULTS:
        return f"statement_line_faults must be an object of at most {MAX_LINE_FAULTS} ids"
    for key, fault in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            return "statement_line_faults: each id must be a text of 1 to 64 characters"
        if fault not in LINE_FAULTS:
            return f"statement_line_faults[{key!r}] must be one of {', '.join(LINE_FAULTS)}"
    return None


class Faults:
    """The live knobs and the seeded random generator that rolls the rates (thread-safe)."""

    def __init__(self, initial: Mapping | None = None):
        self._lock = threading.Lock()
        self._initial = {**DEFAULT_FAULTS, **validate_faults(initial or {})}
        self._values = dict(self._initial)
        self._rng = random.Random(self._values["seed"])

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._values)

    def __getitem__(self, key: str):
        with self._lock:
            return self._values[key]

    def update(self, values: Mapping) -> dict:
        """Merge validated ``values``; a given ``seed`` re-seeds the generator. Returns the new knobs."""
        clean = validate_faults(values)
        with self._lock:
            self._values.update(clean)
            if "seed" in clean:
                self._rng = random.Random(clean["seed"])
            return dict(self._values)

    def reset(self) -> dict:
        """Back to the knobs the process started with (and its seed)."""
        with self._lock:
            self._values = dict(self._initial)
            self._rng = random.Random(self._values["seed"])
            return dict(self._values)

    def roll(self, knob: str) -> bool:
        """True with probability ``self[knob]``. Rates of exactly 0 or 1 draw nothing from the
        generator, so turning one knob on does not shift the others' sequences."""
        with self._lock:
            rate = self._values[knob]
            if rate <= 0:
                return False
            if rate >= 1:
                return True
            return self._rng.random() < rate


@dataclass(frozen=True)
class Merchant:
    merchant_no: str
    api_secrets: tuple[str, ...]  # all accepted on requests (rotation)
    callback_secret: str  # signs callbacks


def parse_merchant(spec: str) -> Merchant:
    """``MCH1001:API_SECRET:CALLBACK_SECRET``; ``API_SECRET`` may be ``new|old`` to accept both."""
    parts = spec.strip().split(":")
    if len(parts) != 3 or not all(parts):
        raise ConfigError(f"merchant spec must be MERCHANT_NO:API_SECRET:CALLBACK_SECRET, got {spec!r}")
    api = tuple(s for s in parts[1].split("|") if s)
    return Merchant(parts[0], api, parts[2])


def parse_merchants(specs: Iterable[str]) -> dict[str, Merchant]:
    out: dict[str, Merchant] = {}
    for spec in specs:
        if spec.strip():
            m = parse_merchant(spec)
            out[m.merchant_no] = m
    return out


def parse_webhook_secrets(specs: Iterable[str]) -> dict[str, str]:
    """``SYSTEM:whsec_...`` specs (the receivers' Standard Webhooks secrets, receivers.py)."""
    out: dict[str, str] = {}
    for spec in specs:
        if not spec.strip():
            continue
        system, sep, secret = spec.strip().partition(":")
        if not sep or not system or not secret.startswith("whsec_"):
            raise ConfigError(f"webhook secret spec must be SYSTEM:whsec_..., got {spec[:20]!r}...")
        out[system] = secret
    return out


#: Used only when no merchant is configured at all (the demo); never a real secret.
DEMO_MERCHANT = "MCH1001:sandbox-demo-api-secret:sandbox-demo-callback-secret"


@dataclass
class SandboxConfig:
    db_path: str = "instance/sandbox.db"
    merchants: dict[str, Merchant] = field(default_factory=dict)
    admin_token: str | None = None
    faults: dict = field(default_factory=dict)
    webhook_secrets: dict[str, str] = field(default_factory=dict)  # receiver system -> whsec_ secret

    @classmethod
    def coerce(cls, value: SandboxConfig | Mapping | None) -> SandboxConfig:
        """Accept a SandboxConfig, or a dict with ``db_path``, ``merchants`` (dict of Merchant, or
        list of specs, or {no: (api_secret, callback_secret)}), ``admin_token``, ``faults``."""
        if isinstance(value, SandboxConfig):
            return value
        value = dict(value or {})
        merchants = value.get("merchants") or {}
        if isinstance(merchants, str):
            merchants = parse_merchants(merchants.split(","))
        elif isinstance(merchants, list | tuple):
            merchants = parse_merchants(merchants)
        else:
            merchants = {
                no: m if isinstance(m, Merchant) else Merchant(no, (m[0],) if isinstance(m[0], str) else tuple(m[0]),
                                                                m[1])
                for no, m in merchants.items()
            }
        faults = value.get("faults") or {}
        if isinstance(faults, str):
            faults = json.loads(faults)
        hooks = value.get("webhook_secrets") or {}
        if isinstance(hooks, str):
            hooks = parse_webhook_secrets(hooks.split(","))
        return cls(db_path=value.get("db_path", cls.db_path), merchants=merchants,
                   admin_token=value.get("admin_token") or None, faults=validate_faults(faults),
                   webhook_secrets=dict(hooks))
