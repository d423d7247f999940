"""Refunds (退款): an approved instruction allocated to payment transactions and executed per channel."""
