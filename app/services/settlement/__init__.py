"""Settlement: the one path that applies a channel payment's result (callback, compensation query,
voucher confirmation, expiry, cancel) to its transactions and orders."""
