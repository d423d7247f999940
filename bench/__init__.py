"""Benchmarks of the Reseller Payment Portal (see bench/README.md)."""
