"""Our own ledgers: the reseller wallet (企业寄存资金) and the credit line (信用额度)."""
