"""The wire-transfer desk (电汇凭证): voucher upload by the reseller, review by finance."""
