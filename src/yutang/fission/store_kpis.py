"""Store KPIs of fission (seed 002: the store manager answers for them) and the leaderboard.

Per store and period (a local day, ISO week or calendar month, Asia/Shanghai):

- ``groups_created``: customer groups the store opened in the period;
- ``active_groups``: the store's groups alive now (not dead, dismissed or merged);
- ``new_fans_in_active_groups``: customers who joined one of those active groups in the period
  (the groups domain's ``store_group_summary``);
- ``group_buy_leaders``: distinct customers of the store who opened a group-buy team in the
  period, and ``group_buy_teams_succeeded`` of the teams opened then;
- ``bait_buyers``: customers with a bait order of a succeeded team of the store in the period,
  and ``bait_buyers_converted``: those of them who have since bought at full price (see
  :mod:`yutang.fission.group_buy_conversion`).

The leaderboard ranks stores by new fans in active groups, then active groups, then bait
conversion, then group-buy leaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import group_buy_repository
from yutang.fission.errors import InvalidKpiPeriod
from yutang.fission.group_buy_conversion import BaitPurchase, FullPrice, first_full_orders
from yutang.groups import service as groups_service
from yutang.kit.clock import add_months, local_day_start_utc, month_start
from yutang.org import service as org_service


class KpiPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_ALIASES = {"daily": KpiPeriod.DAY, "weekly": KpiPeriod.WEEK, "monthly": KpiPeriod.MONTH}


@dataclass(frozen=True)
class PeriodRange:
    kind: KpiPeriod
    first_day: date
    end_day: date
    """Exclusive."""

    @property
    def start(self) -> datetime:
        return local_day_start_utc(self.first_day)

    @property
    def end(self) -> datetime:
        return local_day_start_utc(self.end_day)


def parse_period(kind: str, day: str | date) -> PeriodRange:
    """``day``, ``week`` (ISO, Monday first) or ``month`` containing the local date."""
    text = kind.strip().lower()
    try:
        period = _ALIASES.get(text) or KpiPeriod(text)
    except ValueError:
        raise InvalidKpiPeriod(f"period {kind!r}: day, week or month", period=kind) from None
    try:
        moment = day if isinstance(day, date) else date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidKpiPeriod(f"date {day!r} is not YYYY-MM-DD", date=str(day)) from None
    if period is KpiPeriod.DAY:
        return PeriodRange(period, moment, moment + timedelta(days=1))
    if period is KpiPeriod.WEEK:
        monday = moment - timedelta(days=moment.weekday())
        return PeriodRange(period, monday, monday + timedelta(days=7))
    first = month_start(moment)
    return PeriodRange(period, first, add_months(first, 1))


class StoreKpiRow(BaseModel):
    rank: int
    store_id: int
    store_code: str
    store_name: str
    groups_created: int
    active_groups: int
    dead_groups: int
    new_fans_in_active_groups: int
    group_buy_leaders: int
    group_buy_teams_succeeded: int
    bait_buyers: int
    bait_buyers_converted: int
    bait_conversion_rate: float | None


class StoreKpiBoard(BaseModel):
    period: str
    first_day: date
    last_day: date
    stores: list[StoreKpiRow]


def leaderboard(session: Session, *, actor: Principal, period: PeriodRange) -> StoreKpiBoard:
    access_service.require(actor, Permission.ANALYTICS_READ)
    start, end = period.start, period.end
    groups = groups_service.store_group_summary(session, start=start, end=end)
    leaders = group_buy_repository.leaders_by_store(session, start, end)
    baits: dict[int, dict[int, BaitPurchase]] = {}
    for store_id, customer_id, deal_id, at, sku, list_price, threshold in \
            group_buy_repository.bait_buyers_by_store(session, start, end):
        if store_id is None:
            continue
        per_store = baits.setdefault(store_id, {})
        if customer_id not in per_store or at < per_store[customer_id].at:
            per_store[customer_id] = BaitPurchase(customer_id, deal_id, at,
                                                  FullPrice(sku, list_price, threshold))
    converted = first_full_orders(
        session, [bait for per_store in baits.values() for bait in per_store.values()])
    rows = []
    for store in org_service.list_stores(session):
        summary = groups.get(store.id, {})
        store_baits = baits.get(store.id, {})
        buyers = len(store_baits)
        won = sum(1 for bait in store_baits.values() if bait in converted)
        leader_count, succeeded = leaders.get(store.id, (0, 0))
        rows.append(StoreKpiRow(
            rank=0, store_id=store.id, store_code=store.code, store_name=store.name,
            groups_created=summary.get("groups_created", 0),
            active_groups=summary.get("active_groups", 0),
            dead_groups=summary.get("dead_groups", 0),
            new_fans_in_active_groups=summary.get("new_members_in_active_groups", 0),
            group_buy_leaders=leader_count, group_buy_teams_succeeded=succeeded,
            bait_buyers=buyers, bait_buyers_converted=won,
            bait_conversion_rate=round(won / buyers, 4) if buyers else None))
    rows.sort(key=lambda row: (-row.new_fans_in_active_groups, -row.active_groups,
                               -(row.bait_conversion_rate or 0.0), -row.group_buy_leaders,
                               row.store_code))
    for position, row in enumerate(rows, start=1):
        row.rank = position
    return StoreKpiBoard(period=period.kind.value, first_day=period.first_day,
                         last_day=period.end_day - timedelta(days=1), stores=rows)
