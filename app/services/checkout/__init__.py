"""Checkout (合并支付): a reseller's allocations validated, submitted in one transaction, started per
channel, approved, rejected or cancelled."""
