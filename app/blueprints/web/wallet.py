"""/wallet: the signed-in reseller's enterprise wallet (企业寄存资金): balance and its ledger, newest
first, paginated, optionally by entry type. Only that company's entries are ever read."""

from __future__ import annotations

from flask import Blueprint

from ...services.ledgers import queries as ledger_queries
from .access import RESELLER, allow, reseller_id
from .rendering import choice_arg, page_arg, render_screen

bp = Blueprint("wallet", __name__)


@bp.get("/wallet")
@allow(RESELLER)
def index():
    rid = reseller_id()
    entry_type = choice_arg("type", ledger_queries.WALLET_TYPES)
    context = {
        "balance": ledger_queries.wallet_balance(rid),
        "totals": ledger_queries.wallet_totals(rid),
        "entries": ledger_queries.wallet_entries(rid, page_arg(), entry_type),
        "entry_type": entry_type or "",
        "types": ledger_queries.WALLET_TYPES,
    }
    return render_screen("reseller/wallet.html", "reseller/_wallet_entries.html", **context)
