"""Every payment and refund transaction for finance (docs/SCREENS.md ``/finance/transactions``):
``search.py`` (filters, a page, the totals of the filtered set), ``chain.py`` (one transaction's
whole chain: order → merged payment → channel payment → callbacks → ledger entries → audit). Read only."""
