"""Monthly statements (对账单) of a reseller (docs/DOMAIN.md §8): the period, the figures (what is owed at
the start and the end of the month and what moved it, payments by channel, refunds, the aging of what
is past its deadline, wallet and credit summaries) and the statement's detail lines. One read-only
query service that the ``/statements`` screen, the PDF and any API use, so their numbers agree."""
