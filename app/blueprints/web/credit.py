"""/credit: the signed-in reseller's credit line (信用额度): limit, used and available credit, the credit
records (one per order paid with credit: outstanding amount, due date, OPEN/OVERDUE/REPAID) and the
CREDIT_REPAYMENT payment orders that repay them. Only that company's rows are ever read."""

from __future__ import annotations

from flask import Blueprint

from ...services.ledgers import queries as ledger_queries
from .access import RESELLER, allow, reseller_id
from .rendering import choice_arg, page_arg, render_screen

bp = Blueprint("credit", __name__)


@bp.get("/credit")
@allow(RESELLER)
def index():
    rid = reseller_id()
    status = choice_arg("status", ledger_queries.RECORD_STATUSES)
    context = {
        "summary": ledger_queries.credit_summary(rid),
        "records": ledger_queries.credit_records(rid, page_arg(), status),
        "repayments": ledger_queries.repayment_orders(rid, page_arg("rpage")),
        "status": status or "",
        "statuses": ledger_queries.RECORD_STATUSES,
    }
    return render_screen("reseller/credit.html", "reseller/_credit_records.html", **context)
