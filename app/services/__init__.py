"""Use cases. Services own the transaction: they lock what they change, raise domain errors,
and commit; views only parse input and translate errors."""
