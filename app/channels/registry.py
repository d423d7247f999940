"""Adapters by channel kind. A new kind is one new package and one line here."""

from __future__ import annotations

from .base import ChannelAdapter
from .credit import CreditAdapter
from .online import OnlineAdapter
from .wallet import WalletAdapter
from .wire import WireAdapter

_ADAPTERS: dict[str, ChannelAdapter] = {a.kind: a for a in (OnlineAdapter(), WalletAdapter(), WireAdapter(),
                                                                 CreditAdapter())}


def adapter_for(kind: str) -> ChannelAdapter:
    try:
        return _ADAPTERS[kind]
    except KeyError:
        raise LookupError(f"no adapter for channel kind {kind}") from None
