"""Finance reports (docs/DOMAIN.md §8): read-only figures over every reseller for a period — today a
day's money received, refunded and net, by channel and by payment type (``daily.py``). The
``/finance/reports`` screen and its PDF both read them from here."""
