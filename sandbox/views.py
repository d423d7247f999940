"""Protocol field names for stored rows (camelCase JSON views, shared by the API and admin routes)."""

from __future__ import annotations

from .util import iso


def payment_view(row: dict) -> dict:
    return {
        "merchantNo": row["merchant_no"], "merchantOrderNo": row["merchant_order_no"],
        "gatewayTxnId": row["gateway_txn_id"], "amount": row["amount"], "currency": row["currency"],
        "subject": row["subject"], "status": row["status"], "paidAt": row["paid_at"],
        "failReason": row["fail_reason"], "createdAt": iso(row["created_ts"]), "expireAt": iso(row["expire_ts"]),
    }


def payment_query_view(row: dict) -> dict:
    return {
        "merchantOrderNo": row["merchant_order_no"], "gatewayTxnId": row["gateway_txn_id"],
        "amount": row["amount"], "currency": row["currency"], "status": row["status"],
        "paidAt": row["paid_at"], "failReason": row["fail_reason"],
    }


def refund_view(row: dict) -> dict:
    return {
        "merchantRefundNo": row["merchant_refund_no"], "merchantOrderNo": row["merchant_order_no"],
        "refundId": row["refund_id"], "gatewayTxnId": row["gateway_txn_id"], "amount": row["amount"],
        "status": row["status"], "refundedAt": row["refunded_at"], "failReason": row["fail_reason"],
    }


def payout_view(row: dict) -> dict:
    return {
        "merchantPayoutNo": row["merchant_payout_no"], "payoutId": row["payout_id"], "amount": row["amount"],
        "status": row["status"], "bankSerialNo": row["bank_serial_no"], "failReason": row["fail_reason"],
        "completedAt": iso(row["completed_ts"]),
    }


def payout_admin_view(row: dict) -> dict:
    return {
        **payout_view(row), "merchantNo": row["merchant_no"], "accountNo": row["account_no"],
        "accountName": row["account_name"], "bankCode": row["bank_code"], "purpose": row["purpose"],
        "outcome": row["outcome"], "createdAt": iso(row["created_ts"]),
    }
