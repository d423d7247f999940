"""Bank statements of the WIRE channel: an uploaded file read into normalised bank lines, or refused
with the line and column of the problem (docs/ARCHITECTURE.md, package map; docs/DOMAIN.md "Bank
statement files"). Nothing here stores anything: the reconciliation calls ``reading.read_statement``
and keeps what it returns."""
