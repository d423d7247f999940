"""Webhooks out: endpoints of API clients, fan-out of outbox events, signed delivery with retries."""
