"""Payouts (代付): disbursements to bank accounts, their bank gateway, callbacks, polling, MANUAL
settlement and notifyUrl delivery."""
