"""Re-encrypt every encrypted column under the newest key (MultiFernet.rotate)."""

from __future__ import annotations

import sqlalchemy as sa

from ...extensions import db
from ...models import Channel, Disbursement, Reseller, WebhookEndpoint
from . import crypto
from .unit_of_work import transaction

ENCRYPTED_COLUMNS = (
    (Reseller, "refund_account_no_enc"),
    (Channel, "secrets_enc"),
    (WebhookEndpoint, "secret_enc"),
    (WebhookEndpoint, "previous_secret_enc"),
    (Disbursement, "account_no_enc"),
)


def rotate_all() -> dict[str, int]:
    counts = {}
    with transaction():
        for model, column in ENCRYPTED_COLUMNS:
            n = 0
            col = getattr(model, column)
            for row in db.session.scalars(sa.select(model).where(col.is_not(None))):
                setattr(row, column, crypto.rotate(getattr(row, column)))
                n += 1
            counts[f"{model.__tablename__}.{column}"] = n
    return counts
