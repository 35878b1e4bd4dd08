"""How each platform's order export maps to our orders (see docs/connectors/platform_orders.md).

Columns are found by header name, never by position (exports change columns between versions
and let merchants pick them); each role lists the header names seen for it, first match wins.
Status words are compared after normalising commas (``，`` → ``,``) and removing spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from yutang.pool.models import IdentityKind, OrderStatus


class Platform(StrEnum):
    TAOBAO = "taobao"
    """Taobao and Tmall (千牛 / 卖家中心 order export)."""
    JD = "jd"
    DOUYIN = "douyin"
    PINDUODUO = "pinduoduo"
    YOUZAN = "youzan"


class Role(StrEnum):
    """What a column means to us."""

    ORDER_ID = "order_id"
    STATUS = "status"
    REFUND_STATUS = "refund_status"
    ORDERED_AT = "ordered_at"
    PAID_AT = "paid_at"
    COMPLETED_AT = "completed_at"
    PAID_AMOUNT = "paid_amount"
    GOODS_AMOUNT = "goods_amount"
    SHIPPING_AMOUNT = "shipping_amount"
    REFUND_AMOUNT = "refund_amount"
    BUYER_ID = "buyer_id"
    PHONE = "phone"
    SKU = "sku"
    QUANTITY = "quantity"
    UNIT_PRICE = "unit_price"
    LINE_AMOUNT = "line_amount"


REQUIRED_ROLES = (Role.ORDER_ID, Role.STATUS, Role.ORDERED_AT, Role.PAID_AMOUNT)

CREATED, PAID, COMPLETED = OrderStatus.CREATED, OrderStatus.PAID, OrderStatus.COMPLETED
REFUNDED, CLOSED = OrderStatus.REFUNDED, OrderStatus.CLOSED

REFUNDED_WORDS = frozenset({"退款成功", "退货成功", "全额退款", "已全额退款"})
"""After-sales / refund status words that mean the money went back."""


@dataclass(frozen=True)
class PlatformFormat:
    platform: Platform
    name: str
    columns: dict[Role, tuple[str, ...]]
    statuses: dict[str, OrderStatus]
    signature: tuple[str, ...]
    """Headers that together tell this platform's export from the others."""
    buyer_kind: IdentityKind | None = None
    deleted_prefix: str = ""
    """A status starting with this marks a deleted order (JD ``(删除)``): rejected."""
    closed_with_refund_is_refunded: bool = True
    """A closed order with a refund amount above zero was refunded (Taobao)."""
    paid_per_row: bool = False
    """The paid amount is per row (Douyin sub-orders) and adds up, not repeated per order."""

    @property
    def source(self) -> str:
        """The order's ``source`` (idempotency is by source and external order id)."""
        return self.platform.value


TAOBAO = PlatformFormat(
    platform=Platform.TAOBAO, name="淘宝/天猫",
    columns={
        Role.ORDER_ID: ("订单编号", "主订单编号"),
        Role.STATUS: ("订单状态",),
        Role.REFUND_STATUS: ("退款状态",),
        Role.ORDERED_AT: ("订单创建时间",),
        Role.PAID_AT: ("订单付款时间",),
        Role.COMPLETED_AT: ("确认收货时间", "交易成功时间"),
        Role.PAID_AMOUNT: ("买家实付金额", "买家实际支付金额"),
        Role.GOODS_AMOUNT: ("买家应付货款", "总金额"),
        Role.SHIPPING_AMOUNT: ("买家应付邮费",),
        Role.REFUND_AMOUNT: ("退款金额",),
        Role.BUYER_ID: ("买家会员名",),
        Role.PHONE: ("联系手机",),
    },
    statuses={
        "等待买家付款": CREATED,
        "买家已付款,等待卖家发货": PAID, "等待卖家发货": PAID, "卖家部分发货": PAID,
        "卖家已发货,等待买家确认": PAID, "等待买家确认收货": PAID, "买家已签收": PAID,
        "交易成功": COMPLETED,
        "交易关闭": CLOSED, "交易被淘宝关闭": CLOSED, "交易被天猫关闭": CLOSED,
        "退款成功": REFUNDED,
    },
    signature=("订单编号", "订单状态", "订单创建时间"),
    buyer_kind=IdentityKind.TAOBAO_ID,
)

JD = PlatformFormat(
    platform=Platform.JD, name="京东",
    columns={
        Role.ORDER_ID: ("订单号",),
        Role.STATUS: ("订单状态",),
        Role.ORDERED_AT: ("下单时间",),
        Role.PAID_AT: ("付款确认时间",),
        Role.COMPLETED_AT: ("订单完成时间",),
        Role.PAID_AMOUNT: ("应付金额",),
        Role.GOODS_AMOUNT: ("订单金额",),
        Role.SHIPPING_AMOUNT: ("运费金额",),
        Role.BUYER_ID: ("下单帐号", "下单账号"),
        Role.PHONE: ("联系电话",),
        Role.SKU: ("商品ID", "货号"),
        Role.QUANTITY: ("订购数量",),
        Role.UNIT_PRICE: ("京东价",),
    },
    statuses={
        "等待付款确认": CREATED, "延迟付款确认": CREATED, "等待付款": CREATED,
        "等待出库": PAID, "等待发货": PAID, "等待确认收货": PAID, "锁定": PAID, "暂停": PAID,
        "完成": COMPLETED, "已完成": COMPLETED,
        "已取消": CLOSED, "取消": CLOSED,
    },
    signature=("订单号", "下单时间", "应付金额"),
    buyer_kind=IdentityKind.JD_ID,
    deleted_prefix="(删除)",
    closed_with_refund_is_refunded=False,
)

DOUYIN = PlatformFormat(
    platform=Platform.DOUYIN, name="抖音（抖店）",
    columns={
        Role.ORDER_ID: ("主订单编号",),
        Role.STATUS: ("订单状态",),
        Role.REFUND_STATUS: ("售后状态",),
        Role.ORDERED_AT: ("订单提交时间",),
        Role.PAID_AT: ("支付完成时间",),
        Role.COMPLETED_AT: ("订单完成时间",),
        Role.PAID_AMOUNT: ("订单应付金额",),
        Role.SHIPPING_AMOUNT: ("运费",),
        Role.BUYER_ID: ("买家ID", "用户ID", "抖音号"),
        Role.PHONE: ("收件人手机号",),
        Role.SKU: ("商品ID", "商家编码"),
        Role.QUANTITY: ("商品数量",),
        Role.UNIT_PRICE: ("商品单价",),
    },
    statuses={
        "待支付": CREATED, "待发货": PAID, "部分发货": PAID, "已发货": PAID,
        "已完成": COMPLETED, "已关闭": CLOSED,
    },
    signature=("主订单编号", "子订单编号", "订单提交时间"),
    buyer_kind=IdentityKind.DOUYIN_ID,
    closed_with_refund_is_refunded=False,
    paid_per_row=True,
)

PINDUODUO = PlatformFormat(
    platform=Platform.PINDUODUO, name="拼多多",
    columns={
        Role.ORDER_ID: ("订单号",),
        Role.STATUS: ("订单状态",),
        Role.REFUND_STATUS: ("售后状态",),
        Role.ORDERED_AT: ("订单成交时间", "支付时间"),
        Role.PAID_AT: ("支付时间", "订单成交时间"),
        Role.COMPLETED_AT: ("确认收货时间",),
        Role.PAID_AMOUNT: ("用户实付金额(元)", "商家实收金额(元)"),
        Role.SHIPPING_AMOUNT: ("邮费(元)",),
        Role.SKU: ("商品id", "商家编码-规格维度", "商家编码-商品维度"),
        Role.QUANTITY: ("商品数量(件)",),
        Role.LINE_AMOUNT: ("商品总价(元)",),
    },
    statuses={
        "待支付": CREATED, "待发货": PAID, "已发货,待签收": PAID, "已发货,待收货": PAID,
        "已签收": COMPLETED, "已收货": COMPLETED,
        "未发货,退款成功": REFUNDED, "已发货,退款成功": REFUNDED, "已签收,退款成功": REFUNDED,
        "已取消": CLOSED, "已取消,退款成功": CLOSED, "未成交,退款成功": CLOSED,
    },
    signature=("订单号", "订单成交时间", "商品数量(件)"),
    closed_with_refund_is_refunded=False,
)

YOUZAN = PlatformFormat(
    platform=Platform.YOUZAN, name="有赞",
    columns={
        Role.ORDER_ID: ("订单号",),
        Role.STATUS: ("订单状态",),
        Role.REFUND_STATUS: ("订单退款状态",),
        Role.ORDERED_AT: ("订单创建时间",),
        Role.PAID_AT: ("买家付款时间",),
        Role.COMPLETED_AT: ("交易成功时间",),
        Role.PAID_AMOUNT: ("订单实付金额", "订单实收金额"),
        Role.GOODS_AMOUNT: ("商品金额合计",),
        Role.SHIPPING_AMOUNT: ("运费",),
        Role.REFUND_AMOUNT: ("订单已退款金额",),
        Role.PHONE: ("买家手机号", "收货人手机号/提货人手机号"),
    },
    statuses={
        "待付款": CREATED, "等待买家付款": CREATED,
        "待发货": PAID, "等待卖家发货": PAID, "待成团": PAID, "待接单": PAID,
        "已发货": PAID, "部分发货": PAID,
        "交易完成": COMPLETED, "交易成功": COMPLETED,
        "交易关闭": CLOSED, "已关闭": CLOSED,
    },
    signature=("订单号", "买家付款时间", "订单实付金额"),
    closed_with_refund_is_refunded=False,
)

FORMATS: dict[Platform, PlatformFormat] = {
    item.platform: item for item in (TAOBAO, JD, DOUYIN, PINDUODUO, YOUZAN)
}


def normalize_word(text: str) -> str:
    return "".join(text.replace("，", ",").split())


def header_index(headers: list[str], fmt: PlatformFormat) -> dict[Role, int]:
    """Each role's column in ``headers`` (first listed name present wins)."""
    positions = {name: index for index, name in reversed(list(enumerate(headers)))}
    found: dict[Role, int] = {}
    for role, names in fmt.columns.items():
        for name in names:
            if name in positions:
                found[role] = positions[name]
                break
    return found


def detect(headers: list[str]) -> PlatformFormat | None:
    """The platform whose signature headers are all present (the most specific one)."""
    present = set(headers)
    matches = [fmt for fmt in FORMATS.values() if set(fmt.signature) <= present]
    matches.sort(key=lambda fmt: -len(set(header_index(headers, fmt))))
    return matches[0] if matches else None


def known_header_count(headers: list[str]) -> int:
    names = {name for fmt in FORMATS.values() for names in fmt.columns.values()
             for name in names}
    return len(names & set(headers))
