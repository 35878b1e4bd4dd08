"""Segment rules: a JSON tree of ``all`` / ``any`` / ``not`` over conditions, validated with
the path of the bad node, and compiled into ONE SQLAlchemy Core predicate over ``customer``.

A condition is ``{"field": F, "op": O, "value": V}``. Fields and their operators:

==================  =========================================  ==============================
field               operators                                   value
==================  =========================================  ==============================
gender              eq, in                                      female | male | unknown
store               eq, in                                      store ids
acquisition_channel eq, in                                      channel ids
acquired_at         before, after, between                      ISO dates (Asia/Shanghai days)
tag                 has, has_any, has_none                      tag names
rfm_tier            eq, in                                      value tier (vip, high, …)
value_tier          eq, in                                      same as rfm_tier
rfm_recency         eq, gte, lte, between                       1–5
rfm_frequency       eq, gte, lte, between                       1–5
rfm_monetary        eq, gte, lte, between                       1–5
lifecycle_stage     eq, in                                      new, active, won_back, …
clv_fen             gte, lte, between                           fen (lifetime paid, see below)
last_order          within_days, not_within_days, never         days (int) / true
order_count         eq, gte, lte, between                       int
group               member_of, member_of_any, in_no_group       group ids / true
consent             granted, not_granted                        consent channel (wecom, …)
risk_level          eq, in, at_most                             low | medium | high
==================  =========================================  ==============================

``clv_fen`` is the customer's realised value: the sum of ``paid_fen`` of their paid and
completed orders (the predicted CLV of ``yutang clv`` lives in the analytics extracts, not in
the operational database). ``risk_level`` is the customer's tag in category ``risk``
(``risk:low``, ``risk:medium``, ``risk:high``) until a risk domain writes a column of its own:
``RISK_TAG_CATEGORY`` is the one place to change. Group membership reads ``group_member``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select, true

from yutang.campaigns.errors import InvalidSegmentRule
from yutang.groups.models import GroupMember, MemberStatus
from yutang.kit.clock import local_day_start_utc
from yutang.pool.models import Consent, Customer, CustomerTag, Gender, Order, OrderStatus, Tag

MAX_DEPTH = 8
MAX_NODES = 200
RISK_TAG_CATEGORY = "risk"
RISK_LEVELS = ("low", "medium", "high")
VALUE_TIERS = ("vip", "high", "medium", "low", "prospect")
LIFECYCLE_STAGES = ("new", "active", "won_back", "at_risk", "lost")
CONSENT_CHANNELS = ("wecom", "wechat_group", "official_account", "sms", "mini_program", "app",
                    "email", "phone")
PAID_STATUSES = (OrderStatus.PAID.value, OrderStatus.COMPLETED.value)


def risk_tag_name(level: str) -> str:
    return f"{RISK_TAG_CATEGORY}:{level}"


@dataclass(frozen=True)
class Context:
    """What compiling needs besides the tree: now (for relative days)."""

    now: datetime


def _fail(path: str, message: str, **details: Any) -> InvalidSegmentRule:
    return InvalidSegmentRule(f"{path}: {message}", path=path, **details)


# --- value checks ----------------------------------------------------------------------------


def _ints(path: str, value: Any, *, single: bool = False) -> list[int]:
    items = [value] if single else value
    if not isinstance(items, list) or not items or len(items) > 10_000:
        raise _fail(path, "a non-empty list of ids is expected")
    if not all(isinstance(item, int) and not isinstance(item, bool) and item > 0
               for item in items):
        raise _fail(path, "ids are positive integers")
    return [int(item) for item in items]


def _choices(path: str, value: Any, allowed: Sequence[str], *, single: bool) -> list[str]:
    items = [value] if single else value
    if not isinstance(items, list) or not items:
        raise _fail(path, "a non-empty list is expected")
    wrong = [item for item in items if item not in allowed]
    if wrong:
        raise _fail(path, f"unknown value(s) {wrong!r}", allowed=list(allowed))
    return [str(item) for item in items]


def _int(path: str, value: Any, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _fail(path, f"an integer from {low} to {high} is expected")
    return value


def _range(path: str, value: Any, low: int, high: int) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise _fail(path, "[low, high] is expected")
    first = _int(path, value[0], low, high)
    second = _int(path, value[1], low, high)
    if first > second:
        raise _fail(path, "low must not exceed high")
    return first, second


def _day(path: str, value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise _fail(path, "an ISO date (YYYY-MM-DD) is expected") from error


def _names(path: str, value: Any) -> list[str]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(item, str) and item.strip() for item in value)):
        raise _fail(path, "a non-empty list of names is expected")
    return [item.strip() for item in value]


# --- conditions ------------------------------------------------------------------------------

Compiler = Callable[[str, str, Any, Context], Any]


def _in_choices(column: Any, allowed: Sequence[str]) -> Compiler:
    def compile_(path: str, op: str, value: Any, _: Context) -> Any:
        if op not in ("eq", "in"):
            raise _fail(path, f"operator {op!r} is not one of eq, in")
        values = _choices(path + ".value", value, allowed, single=op == "eq")
        return column.in_(values) if len(values) > 1 else column == values[0]
    return compile_


def _in_ids(column: Any) -> Compiler:
    def compile_(path: str, op: str, value: Any, _: Context) -> Any:
        if op not in ("eq", "in"):
            raise _fail(path, f"operator {op!r} is not one of eq, in")
        ids = _ints(path + ".value", value, single=op == "eq")
        return column.in_(ids) if len(ids) > 1 else column == ids[0]
    return compile_


def _numeric(expression: Callable[[], Any], low: int, high: int,
             operators: Sequence[str] = ("eq", "gte", "lte", "between")) -> Compiler:
    def compile_(path: str, op: str, value: Any, _: Context) -> Any:
        if op not in operators:
            raise _fail(path, f"operator {op!r} is not one of {', '.join(operators)}")
        target = expression()
        where = path + ".value"
        if op == "between":
            first, second = _range(where, value, low, high)
            return and_(target >= first, target <= second)
        number = _int(where, value, low, high)
        return {"eq": target == number, "gte": target >= number, "lte": target <= number}[op]
    return compile_


def _paid_orders() -> Any:
    return (Order.customer_id == Customer.id) & Order.status.in_(PAID_STATUSES)


def _lifetime_paid() -> Any:
    return select(func.coalesce(func.sum(Order.paid_fen), 0)).where(
        _paid_orders()).scalar_subquery()


def _order_count() -> Any:
    return select(func.count(Order.id)).where(_paid_orders()).scalar_subquery()


def _acquired_at(path: str, op: str, value: Any, _: Context) -> Any:
    where = path + ".value"
    if op == "before":
        return Customer.acquired_at < local_day_start_utc(_day(where, value))
    if op == "after":
        return Customer.acquired_at >= local_day_start_utc(_day(where, value) + timedelta(1))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(where, "[first day, last day] is expected")
        first, last = _day(where, value[0]), _day(where, value[1])
        return and_(Customer.acquired_at >= local_day_start_utc(first),
                    Customer.acquired_at < local_day_start_utc(last + timedelta(1)))
    raise _fail(path, f"operator {op!r} is not one of before, after, between")


def _tag_exists(names: list[str]) -> Any:
    return exists().where(CustomerTag.customer_id == Customer.id,
                          CustomerTag.tag_id == Tag.id, Tag.name.in_(names))


def _tag(path: str, op: str, value: Any, _: Context) -> Any:
    names = _names(path + ".value", value)
    if op == "has":
        return and_(*[_tag_exists([name]) for name in names])
    if op == "has_any":
        return _tag_exists(names)
    if op == "has_none":
        return not_(_tag_exists(names))
    raise _fail(path, f"operator {op!r} is not one of has, has_any, has_none")


def _last_order(path: str, op: str, value: Any, context: Context) -> Any:
    if op == "never":
        if value is not True:
            raise _fail(path + ".value", "true is expected")
        return not_(exists().where(_paid_orders()))
    if op not in ("within_days", "not_within_days"):
        raise _fail(path, f"operator {op!r} is not one of within_days, not_within_days, never")
    days = _int(path + ".value", value, 0, 36_500)
    since = context.now - timedelta(days=days)
    recent = exists().where(_paid_orders(), Order.ordered_at >= since)
    return recent if op == "within_days" else not_(recent)


def _group(path: str, op: str, value: Any, _: Context) -> Any:
    current = (GroupMember.customer_id == Customer.id) & (
        GroupMember.status == MemberStatus.MEMBER.value)
    if op == "in_no_group":
        if value is not True:
            raise _fail(path + ".value", "true is expected")
        return not_(exists().where(current))
    if op == "member_of":
        ids = _ints(path + ".value", value, single=True)
        return exists().where(current, GroupMember.group_id == ids[0])
    if op == "member_of_any":
        ids = _ints(path + ".value", value)
        return exists().where(current, GroupMember.group_id.in_(ids))
    raise _fail(path, f"operator {op!r} is not one of member_of, member_of_any, in_no_group")


def newest_consent(channel: str) -> Any:
    """The customer's newest decision for ``channel`` (None when there is none)."""
    return (select(Consent.granted)
            .where(Consent.customer_id == Customer.id, Consent.channel == channel)
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
            .limit(1).scalar_subquery())


def _consent(path: str, op: str, value: Any, _: Context) -> Any:
    channel = _choices(path + ".value", value, CONSENT_CHANNELS, single=True)[0]
    granted = newest_consent(channel)
    if op == "granted":
        return granted == true()
    if op == "not_granted":
        return or_(granted.is_(None), granted == false())
    raise _fail(path, f"operator {op!r} is not one of granted, not_granted")


def risk_at_least(levels: Sequence[str]) -> Any:
    """The customer carries one of the risk tags of ``levels``."""
    return _tag_exists([risk_tag_name(level) for level in levels])


def _risk(path: str, op: str, value: Any, _: Context) -> Any:
    if op in ("eq", "in"):
        levels = _choices(path + ".value", value, RISK_LEVELS, single=op == "eq")
        if "low" in levels:  # no risk tag at all counts as low
            others = [level for level in RISK_LEVELS if level not in levels]
            return not_(risk_at_least(others)) if others else true()
        return risk_at_least(levels)
    if op == "at_most":
        level = _choices(path + ".value", value, RISK_LEVELS, single=True)[0]
        above = list(RISK_LEVELS[RISK_LEVELS.index(level) + 1:])
        return not_(risk_at_least(above)) if above else true()
    raise _fail(path, f"operator {op!r} is not one of eq, in, at_most")


FIELDS: Mapping[str, Compiler] = {
    "gender": _in_choices(Customer.gender, [gender.value for gender in Gender]),
    "store": _in_ids(Customer.store_id),
    "acquisition_channel": _in_ids(Customer.acquisition_channel_id),
    "acquired_at": _acquired_at,
    "tag": _tag,
    "rfm_tier": _in_choices(Customer.value_tier, VALUE_TIERS),
    "value_tier": _in_choices(Customer.value_tier, VALUE_TIERS),
    "rfm_recency": _numeric(lambda: Customer.rfm_recency_score, 1, 5),
    "rfm_frequency": _numeric(lambda: Customer.rfm_frequency_score, 1, 5),
    "rfm_monetary": _numeric(lambda: Customer.rfm_monetary_score, 1, 5),
    "lifecycle_stage": _in_choices(Customer.lifecycle_stage, LIFECYCLE_STAGES),
    "clv_fen": _numeric(_lifetime_paid, 0, 10**13, ("gte", "lte", "between")),
    "order_count": _numeric(_order_count, 0, 10**6),
    "last_order": _last_order,
    "group": _group,
    "consent": _consent,
    "risk_level": _risk,
}


# --- the tree ----------------------------------------------------------------------------------


class _Walker:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.nodes = 0

    def node(self, node: Any, path: str, depth: int) -> ColumnElement[bool]:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _fail(path, f"a rule holds at most {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            raise _fail(path, f"rules nest at most {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            raise _fail(path, "a node is an object")
        groups = [key for key in ("all", "any", "not") if key in node]
        if groups:
            if len(node) != 1:
                raise _fail(path, "a group node has exactly one key: all, any or not")
            key = groups[0]
            if key == "not":
                return not_(self.node(node["not"], f"{path}.not", depth + 1))
            children = node[key]
            if not isinstance(children, list) or not children:
                raise _fail(f"{path}.{key}", "a non-empty list of nodes is expected")
            parts = [self.node(child, f"{path}.{key}[{index}]", depth + 1)
                     for index, child in enumerate(children)]
            return and_(*parts) if key == "all" else or_(*parts)
        return self.condition(node, path)

    def condition(self, node: dict[str, Any], path: str) -> ColumnElement[bool]:
        unknown = set(node) - {"field", "op", "value"}
        if unknown:
            raise _fail(path, f"unknown keys {sorted(unknown)!r}")
        field = node.get("field")
        if field not in FIELDS:
            raise _fail(f"{path}.field", f"unknown field {field!r}", allowed=sorted(FIELDS))
        op = node.get("op")
        if not isinstance(op, str):
            raise _fail(f"{path}.op", "an operator is required")
        return cast(ColumnElement[bool],
                    FIELDS[str(field)](path, op, node.get("value"), self.context))


def compile_rule(rule: Any, *, now: datetime) -> ColumnElement[bool]:
    """The rule as one predicate over ``customer`` (raises ``invalid_segment_rule``)."""
    return _Walker(Context(now=now)).node(rule, "$", 0)


def validate_rule(rule: Any, *, now: datetime) -> None:
    compile_rule(rule, now=now)


def audience_statement(rule: Any, *, now: datetime, store_id: int | None = None) -> Any:
    """``SELECT customer.id`` of the live customers the rule selects (store-scoped if asked)."""
    statement = select(Customer.id).where(Customer.merged_into_id.is_(None),
                                          compile_rule(rule, now=now))
    if store_id is not None:
        statement = statement.where(Customer.store_id == store_id)
    return statement
