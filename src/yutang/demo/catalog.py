"""The demo chain: 鲜果集, a fruit and fresh-food retailer — its stores, channels and products.

The channel templates carry the planted truth of acquisition: each channel's share of new
customers and what one new customer costs there (paid traffic costs the most, the private
pond the least).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yutang.demo.draws import FloatArray
from yutang.demo.names import CITIES, REGION_NAMES
from yutang.pool.models import ChannelDomain, ChannelKind

BRAND = "鲜果集"
STORE_GROUP_CAPACITY = 50
# Store sizes fall off gently: the flagship is about three times the twelfth store.
STORE_SIZE_EXPONENT = 0.45


@dataclass(frozen=True)
class StorePlan:
    code: str
    name: str
    city_index: int
    region_code: str
    weight: float
    """The store's share of the customers that belong to a store."""

    @property
    def city(self) -> str:
        return CITIES[self.city_index].name

    @property
    def staff_prefix(self) -> str:
        return self.code.lower()


def plan_stores(count: int) -> list[StorePlan]:
    """``count`` stores opened city after city (S001 in Shanghai, S002 in Beijing, …)."""
    sizes = 1.0 / np.arange(1, count + 1) ** STORE_SIZE_EXPONENT
    weights = sizes / sizes.sum()
    stores = []
    for position in range(count):
        city_index = position % len(CITIES)
        city = CITIES[city_index]
        round_number = position // len(CITIES)
        district = city.districts[round_number % len(city.districts)]
        branch = round_number // len(city.districts)
        suffix = "店" if branch == 0 else f"{branch + 1}号店"
        stores.append(
            StorePlan(
                code=f"S{position + 1:03d}",
                name=f"{BRAND}·{city.name}{district}{suffix}",
                city_index=city_index,
                region_code=city.region_code,
                weight=float(weights[position]),
            )
        )
    return stores


def regions_of(stores: list[StorePlan]) -> list[tuple[str, str]]:
    """(code, name) of the regions that have stores, in the order they were opened."""
    codes = list(dict.fromkeys(store.region_code for store in stores))
    return [(code, REGION_NAMES[code]) for code in codes]


@dataclass(frozen=True)
class ChannelTemplate:
    key: str
    name: str
    kind: ChannelKind
    domain: ChannelDomain
    acquisition_share: float
    """Planted share of all new customers (split over stores for per-store channels)."""
    cost_per_customer_fen: int
    """Planted variable cost of one new customer (cash back, rewards, ad spend, fees)."""
    monthly_fixed_fen: int
    per_store: bool = False


CHANNEL_TEMPLATES: tuple[ChannelTemplate, ...] = (
    ChannelTemplate("WECOM", "企微活码", ChannelKind.WECOM, ChannelDomain.PRIVATE, 0.22,
                    500, 0, per_store=True),
    ChannelTemplate("GROUP", "社群活码", ChannelKind.WECHAT_GROUP, ChannelDomain.PRIVATE, 0.12,
                    300, 0, per_store=True),
    ChannelTemplate("STORE", "门店扫码", ChannelKind.STORE, ChannelDomain.PRIVATE, 0.20,
                    200, 0, per_store=True),
    ChannelTemplate("OA", "公众号", ChannelKind.OFFICIAL_ACCOUNT, ChannelDomain.PRIVATE, 0.06,
                    300, 800_000),
    ChannelTemplate("MINIPROGRAM", "小程序商城", ChannelKind.MINI_PROGRAM,
                    ChannelDomain.PRIVATE, 0.08, 500, 1_200_000),
    ChannelTemplate("APP", "鲜果集App", ChannelKind.APP, ChannelDomain.PRIVATE, 0.03,
                    800, 1_500_000),
    ChannelTemplate("REFERRAL", "老带新", ChannelKind.REFERRAL, ChannelDomain.PRIVATE, 0.06,
                    1_500, 0),
    ChannelTemplate("TAOBAO", "淘宝旗舰店", ChannelKind.TAOBAO, ChannelDomain.PUBLIC, 0.07,
                    2_500, 300_000),
    ChannelTemplate("JD", "京东旗舰店", ChannelKind.JD, ChannelDomain.PUBLIC, 0.04,
                    2_800, 300_000),
    ChannelTemplate("DOUYIN_SHOP", "抖音小店", ChannelKind.DOUYIN, ChannelDomain.PUBLIC, 0.04,
                    3_000, 200_000),
    ChannelTemplate("DOUYIN_ADS", "抖音信息流广告", ChannelKind.PAID_ADS, ChannelDomain.PAID,
                    0.05, 6_800, 0),
    ChannelTemplate("MOMENTS_ADS", "朋友圈广告", ChannelKind.PAID_ADS, ChannelDomain.PAID,
                    0.03, 5_500, 0),
)

# Customers found on a platform buy there and belong to no store.
PLATFORM_KINDS = frozenset({ChannelKind.TAOBAO, ChannelKind.JD, ChannelKind.DOUYIN})


@dataclass(frozen=True)
class ChannelPlan:
    code: str
    name: str
    template: ChannelTemplate
    store_index: int | None
    acquisition_share: float


def plan_channels(stores: list[StorePlan]) -> list[ChannelPlan]:
    """Per-store channels for every store, then the chain-wide ones; shares sum to one."""
    total_share = sum(template.acquisition_share for template in CHANNEL_TEMPLATES)
    channels: list[ChannelPlan] = []
    for template in CHANNEL_TEMPLATES:
        share = template.acquisition_share / total_share
        if template.per_store:
            channels.extend(
                ChannelPlan(
                    code=f"{store.code}-{template.key}",
                    name=f"{store.code} {template.name}",
                    template=template,
                    store_index=index,
                    acquisition_share=share * store.weight,
                )
                for index, store in enumerate(stores)
            )
        else:
            channels.append(ChannelPlan(template.key, template.name, template, None, share))
    return channels


def channel_shares(channels: list[ChannelPlan]) -> FloatArray:
    shares: FloatArray = np.asarray([channel.acquisition_share for channel in channels])
    return shares


@dataclass(frozen=True)
class ProductPlan:
    sku: str
    name: str
    category: str
    price_fen: int
    popularity: float
    is_bait: bool = False
    is_private_only: bool = False


PRODUCTS: tuple[ProductPlan, ...] = (
    ProductPlan("FR-001", "阳光玫瑰葡萄 500g", "葡萄", 2_990, 9),
    ProductPlan("FR-002", "智利车厘子 JJ级 1kg", "车厘子", 9_990, 4),
    ProductPlan("FR-003", "海南贵妃芒 2.5kg", "芒果", 3_990, 6),
    ProductPlan("FR-004", "赣南脐橙 5kg", "柑橘", 4_990, 7),
    ProductPlan("FR-005", "四川不知火 2.5kg", "柑橘", 3_890, 5),
    ProductPlan("FR-006", "烟台红富士苹果 2.5kg", "苹果", 3_290, 8),
    ProductPlan("FR-007", "阿克苏冰糖心苹果 5kg", "苹果", 5_990, 4),
    ProductPlan("FR-008", "云南蓝莓 125g×4盒", "浆果", 5_990, 5),
    ProductPlan("FR-009", "丹东草莓 1kg", "浆果", 6_990, 4),
    ProductPlan("FR-010", "佳沛金奇异果 12粒", "猕猴桃", 8_990, 3),
    ProductPlan("FR-011", "广西沃柑 2.5kg", "柑橘", 2_590, 7),
    ProductPlan("FR-012", "泰国金枕榴莲 约3kg", "榴莲", 19_900, 2),
    ProductPlan("FR-013", "海南麒麟西瓜 1个", "瓜类", 3_580, 6),
    ProductPlan("FR-014", "新疆哈密瓜 1个", "瓜类", 2_980, 5),
    ProductPlan("FR-015", "菲律宾香蕉 1kg", "香蕉", 1_290, 10),
    ProductPlan("FR-016", "红心火龙果 4个", "火龙果", 2_690, 6),
    ProductPlan("FR-017", "砀山酥梨 2.5kg", "梨", 2_290, 5),
    ProductPlan("FR-018", "妃子笑荔枝 1kg", "荔枝", 4_590, 3),
    ProductPlan("FR-019", "福建红心蜜柚 2个", "柚子", 2_980, 4),
    ProductPlan("FR-020", "进口牛油果 6个", "牛油果", 3_990, 3),
    ProductPlan("FS-001", "鲜切果盒 400g", "果切", 2_590, 8),
    ProductPlan("FS-002", "会员专享·精品果切拼盘", "果切", 3_990, 4, is_private_only=True),
    ProductPlan("GF-001", "节日水果礼盒", "礼盒", 19_800, 1),
    ProductPlan("GF-002", "企业定制果篮", "礼盒", 29_800, 1, is_private_only=True),
    ProductPlan("VG-001", "有机小番茄 500g", "蔬果", 1_590, 6),
    ProductPlan("VG-002", "水果玉米 4根", "蔬果", 1_990, 5),
    ProductPlan("NT-001", "每日坚果 30袋", "坚果", 12_900, 2),
    ProductPlan("JC-001", "鲜榨橙汁 1L", "果汁", 2_290, 5),
    ProductPlan("MB-001", "储值会员专享·车厘子 2kg", "车厘子", 17_900, 1, is_private_only=True),
    ProductPlan("BT-001", "9.9元尝鲜果盒", "引流品", 990, 0, is_bait=True),
    ProductPlan("BT-002", "99元拼团水果礼盒", "引流品", 9_900, 0, is_bait=True,
                is_private_only=True),
    ProductPlan("BT-003", "1元秒杀香蕉", "引流品", 100, 0, is_bait=True),
)
