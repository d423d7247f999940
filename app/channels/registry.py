"""Adapters by channel kind. A new kind is one new package that calls ``register``."""

from __future__ import annotations

from .base import ChannelAdapter

_ADAPTERS: dict[str, ChannelAdapter] = {}


def register(adapter: ChannelAdapter) -> ChannelAdapter:
    _ADAPTERS[adapter.kind] = adapter
    return adapter


def adapter_for(kind: str) -> ChannelAdapter:
    if kind not in _ADAPTERS:
        _load_builtin()
    try:
        return _ADAPTERS[kind]
    except KeyError:
        raise LookupError(f"no adapter for channel kind {kind}") from None


def _load_builtin() -> None:
    from . import credit, online, wallet, wire  # noqa: F401  (each registers itself)
