"""The static catalog of the demo data set: companies, people, channels and the Chinese texts that
the generated payment orders are made of. Pure data; ``demo_plan`` and ``demo_seed`` use it."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import NotRequired, TypedDict

from ..domain.enums import ChannelKind, PaymentType, ResellerStatus, Role
from ..domain.enums import ChannelPaymentStatus as CP

SEED = 20261122
GATEWAY_URL = f"http://127.0.0.1:{os.environ.get('SANDBOX_PORT', '8001')}"
API_CLIENT_NAME = "demo-upstream"
API_CLIENT_SCOPES = frozenset({"payments", "refunds", "credit", "finance", "disburse", "resellers", "webhooks"})



class ResellerSpec(TypedDict):
    code: str
    name: str
    status: ResellerStatus
    credit_limit: Decimal
    credit_term_days: int
    approval_threshold: Decimal
    account: tuple[str, str, str] | None  # refund account: number, name, bank code
    opening_topup: Decimal | None


class MerchantSpec(TypedDict):
    merchant_id: str
    name: str
    single_limit: Decimal
    daily_limit: Decimal


class ChannelSpec(TypedDict):
    code: str
    name: str
    name_en: str
    kind: ChannelKind
    max_amount: Decimal | None
    expire_seconds: int
    confirm_timeout_seconds: int
    config: dict[str, str]
    secrets: NotRequired[bool]
    only_for: NotRequired[list[str]]
    supports_partial_refund: NotRequired[bool]


RESELLERS: list[ResellerSpec] = [
    {"code": "R1001", "name": "华东重工设备销售有限公司", "status": ResellerStatus.ACTIVE,
     "credit_limit": Decimal("10000000.00"), "credit_term_days": 30, "approval_threshold": Decimal("1000000.00"),
     "account": ("6222020200198765432", "华东重工设备销售有限公司", "ICBC"),
     "opening_topup": Decimal("2000000.00")},
    {"code": "R1002", "name": "北方特种装备贸易有限公司", "status": ResellerStatus.ACTIVE,
     "credit_limit": Decimal("3000000.00"), "credit_term_days": 45, "approval_threshold": Decimal("20000000.00"),
     "account": ("6217000010087654321", "北方特种装备贸易有限公司", "CCB"),
     "opening_topup": Decimal("800000.00")},
    {"code": "R1003", "name": "西南工业设备有限公司", "status": ResellerStatus.ACTIVE, "credit_limit": Decimal("0.00"),
     "credit_term_days": 30, "approval_threshold": Decimal("20000000.00"), "account": None,
     "opening_topup": None},
    {"code": "R1004", "name": "岭南机电设备有限公司", "status": ResellerStatus.SUSPENDED,
     "credit_limit": Decimal("0.00"), "credit_term_days": 30, "approval_threshold": Decimal("1000000.00"),
     "account": None, "opening_topup": None},
]

# (email, role, reseller code, display name)
USERS = [
    ("operator@r1001.example", Role.RESELLER_OPERATOR, "R1001", "张伟"),
    ("approver@r1001.example", Role.RESELLER_APPROVER, "R1001", "李娜"),
    ("operator@r1002.example", Role.RESELLER_OPERATOR, "R1002", "王强"),
    ("operator@r1003.example", Role.RESELLER_OPERATOR, "R1003", "赵敏"),
    ("finance@example.com", Role.FINANCE, None, "陈静"),
    ("finance2@example.com", Role.FINANCE, None, "刘洋"),
    ("admin@example.com", Role.ADMIN, None, "孙磊"),
]

MERCHANT: MerchantSpec = {"merchant_id": "M1001", "name": "某某特种设备有限公司（代付账户）",
            "single_limit": Decimal("1000000.00"), "daily_limit": Decimal("5000000.00")}

# ``secrets``: the ONLINE channels get gateway secrets (random, encrypted at rest).
# ``only_for``: reseller codes the channel is restricted to (None: available to all).
CHANNELS: list[ChannelSpec] = [
    {"code": "ONLINE_UNIONPAY", "name": "银联企业网银", "name_en": "UnionPay B2B", "kind": ChannelKind.ONLINE,
     "max_amount": Decimal("50000000.00"), "expire_seconds": 86400, "confirm_timeout_seconds": 900,
     "config": {"base_url": GATEWAY_URL, "merchant_no": "MCH1001"}, "secrets": True},
    {"code": "ONLINE_EBANK", "name": "企业网银（对公账户）", "name_en": "Corporate e-banking",
     "kind": ChannelKind.ONLINE, "max_amount": Decimal("5000000.00"), "expire_seconds": 86400,
     "confirm_timeout_seconds": 900, "config": {"base_url": GATEWAY_URL, "merchant_no": "MCH1002"}, "secrets": True},
    {"code": "ONLINE_ALIPAY_B2B", "name": "支付宝企业付", "name_en": "Alipay Business", "kind": ChannelKind.ONLINE,
     "max_amount": Decimal("3000000.00"), "expire_seconds": 86400, "confirm_timeout_seconds": 900,
     "config": {"base_url": GATEWAY_URL, "merchant_no": "MCH1003"}, "secrets": True, "only_for": ["R1002"]},
    {"code": "WALLET", "name": "企业寄存资金", "name_en": "Enterprise deposit", "kind": ChannelKind.WALLET,
     "max_amount": None, "expire_seconds": 86400, "confirm_timeout_seconds": 900, "config": {}},
    {"code": "WIRE_ICBC", "name": "电汇（工商银行）", "name_en": "Wire transfer (ICBC)", "kind": ChannelKind.WIRE,
     "max_amount": None, "expire_seconds": 7 * 86400, "confirm_timeout_seconds": 2 * 86400,
     # The receiving account is shown to every reseller at checkout: public, so plain config.
     "config": {"account_name": "某某特种设备有限公司", "account_no": "6222020200112233445",
                "bank_name": "中国工商银行 上海分行"}},
    {"code": "CREDIT", "name": "信用额度", "name_en": "Credit line", "kind": ChannelKind.CREDIT,
     "max_amount": None, "expire_seconds": 86400, "confirm_timeout_seconds": 900, "config": {},
     "supports_partial_refund": True},
]
CHANNEL_MAX = {c["code"]: c["max_amount"] for c in CHANNELS}
CHANNEL_KIND = {c["code"]: c["kind"] for c in CHANNELS}

# (tag, product, specifications)
PRODUCTS = [
    ("boilers", "燃气蒸汽锅炉", ["WNS4-1.25-Q", "WNS6-1.6-Y.Q", "SZS10-1.25-Q"]),
    ("pressure_vessels", "不锈钢反应釜", ["5m³ 316L", "10m³ 304", "20m³ 316L 夹套"]),
    ("cranes", "桥式起重机", ["QD 20/5t 跨度22.5m", "QD 32/5t 跨度28.5m", "LH 16t 跨度19.5m"]),
    ("gantry_cranes", "门式起重机", ["MG 50t 跨度30m", "MH 10t 跨度20m"]),
    ("elevators", "防爆电梯", ["载重2000kg 6层", "载重3000kg 4层"]),
    ("hoists", "防爆电动葫芦", ["CD1 10t 12m", "BCD 5t 9m"]),
    ("tanks", "低温液体储罐", ["LNG 60m³", "LO2 30m³", "LCO2 50m³"]),
    ("forklifts", "防爆叉车", ["CPCD50 5t", "CPD30 3t"]),
    ("autoclaves", "工业高压釜", ["Φ2.0×8m", "Φ2.5×12m"]),
    ("exchangers", "管壳式换热器", ["BEM 600", "AES 800"]),
]
CUSTOMERS = ["江苏某化工集团", "山东某钢铁厂", "浙江某制药公司", "安徽某港口集团", "河南某煤化工公司",
             "四川某天然气公司", "广东某食品厂", "湖北某造船厂", "辽宁某石化公司", "福建某纸业公司"]
REGIONS = {"R1001": "华东", "R1002": "华北", "R1003": "西南"}
FEES = ["运输及吊装费", "现场安装调试费", "第三方检验检测费", "特种设备监督检验费", "加急生产费", "技术培训服务费"]

REFUND_REASONS = ["规格变更，退还差额", "合同减项：取消选配件", "运输费用调整", "重复付款退回"]
FULL_REFUND_REASONS = ["费用减免，全额退回", "服务取消，全额退款"]
FREEZE_REASONS = ["质量争议，暂停收款", "合同条款复核中", "客户申请延期交付"]
STOP_REASONS = ["客户取消订单", "合同终止", "订单合并，原支付单作废"]
FAIL_REASONS = ["银行拒绝：账户余额不足", "付款人在银行页面取消支付", "银行拒绝：超出单笔限额"]
APPROVERS = ["li.wei", "zhou.min", "wu.hao"]

# -- the shape of the payment-order data set (see demo_plan.SCENARIOS for the scenario names) --------
# business orders (contracts) per reseller; each has an ADVANCE, usually a FINAL, sometimes an OTHER_FEE
BUSINESS_ORDERS = {"R1001": 70, "R1002": 22, "R1003": 13}
WEIGHTS: dict[str, dict[str, int]] = {
    PaymentType.ADVANCE_PAYMENT: {
        "paid": 30, "paid_split": 8, "failed_then_paid": 5, "refund_partial": 4, "refund_full": 1, "partial": 8,
        "partial_paying": 3, "paying": 5, "failed": 5, "unpaid": 14, "stopped": 4, "stopped_partial": 1, "frozen": 3,
        "frozen_partial": 1},
    PaymentType.FINAL_PAYMENT: {
        "paid": 30, "paid_split": 6, "partial": 10, "partial_paying": 3, "paying": 6, "failed": 5, "unpaid": 15,
        "refund_partial": 3, "stopped": 2, "frozen": 3},
    PaymentType.OTHER_FEE: {
        "paid": 30, "unpaid": 25, "paying": 5, "failed": 5, "refund_full": 4, "refund_partial": 2, "stopped": 4,
        "partial": 5, "frozen": 2},
}
# R1001's first business orders show every case; the credit ones were paid with the credit line
# this many days ago and are then repaid as named (see REPAYMENTS).
SHOWCASE = ["pending", "paid", "refund_partial", "refund_full", "failed", "paying", "partial", "partial_paying",
            "paid_split", "failed_then_paid", "stopped", "stopped_partial", "frozen", "frozen_partial", "unpaid"]
CREDIT_SHOWCASE: list[tuple[int, str | None]] = [
    (70, "repaid"), (50, "overdue_unpaid"), (40, "overdue_paying"), (20, "partial"), (10, "failed"), (3, None)]
# repayment scenario -> (created N days after the credit payment, [(outcome, share, channel, days after)])
REPAYMENTS: dict[str, tuple[int, list[tuple[CP, str, str, int | None]]]] = {
    "repaid": (3, [(CP.SUCCESS, "rest", "ONLINE_UNIONPAY", 8)]),
    "overdue_unpaid": (5, []),
    "overdue_paying": (2, [(CP.SUCCESS, "part", "WIRE_ICBC", 25), (CP.PROCESSING, "rest", "WIRE_ICBC", None)]),
    "partial": (1, [(CP.SUCCESS, "part", "WALLET", 12)]),
    "failed": (1, [(CP.FAILED, "rest", "ONLINE_EBANK", 5)]),
}
