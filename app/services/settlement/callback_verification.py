"""The first step of every channel callback: the channel is a known ONLINE channel and the adapter
verifies the signature and the timestamp (docs/SECURITY.md "Callbacks in"). Nothing is read from
the body before that."""

from __future__ import annotations

from dataclasses import dataclass

from ...channels.base import CallbackEvent, CallbackRejected, ChannelConfig
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind
from ..channel_config import lookup as channel_config
from ..platform.unit_of_work import end_read


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    text: str


def verified_event(channel_code: str, headers: dict, body: bytes,
                   kind: str) -> tuple[ChannelConfig, CallbackEvent] | CallbackAnswer:
    """(channel config, event) of a correctly signed callback of this kind, else the answer refusing it."""
    cfg = channel_config.config_by_code(channel_code)
    end_read()
    if cfg is None or cfg.kind != ChannelKind.ONLINE:
        return CallbackAnswer(404, "unknown channel")
    try:
        event = adapter_for(cfg.kind).parse_callback(cfg, headers, body)
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    if event.kind != kind:
        return CallbackAnswer(400, f"not a {kind} callback")
    return cfg, event
