"""The JSON API for upstream systems (docs/API.md). Routes only parse, call a service and shape the
answer. Each module below registers its routes on the blueprint of ``blueprint.py``."""

from . import (  # noqa: F401  (routes register on bp)
    credit,
    disbursements,
    docs,
    finance,
    payment_orders,
    refunds,
    resellers,
    wallets,
    webhook_endpoints,
)
from .blueprint import bp

__all__ = ["bp"]
