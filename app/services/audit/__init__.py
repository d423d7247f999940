"""The append-only, hash-chained audit log (docs/SECURITY.md)."""
