"""Segments: rules validated with the path of the bad node, evaluated as one statement whose
result is exactly the customers the rule names; previews masked as the viewer sees them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.campaigns.support import give_consent, new_customer, new_store, order, segment, tag
from tests.support.factories import SYSTEM, make_user
from yutang.access.roles import ActorKind, Principal, Role
from yutang.campaigns import segments as segment_service
from yutang.campaigns.errors import InvalidSegmentRule, SegmentNameTaken
from yutang.campaigns.segment_rules import audience_statement
from yutang.groups.models import Group, GroupMember
from yutang.kit.clock import utcnow


def _ids(db: Session, rule: dict[str, Any], store_ids: list[int]) -> set[int]:
    statement = audience_statement(rule, now=utcnow())
    from yutang.pool.models import Customer

    return set(db.scalars(statement.where(Customer.store_id.in_(store_ids))))


@pytest.mark.parametrize(("rule", "path"), [
    ({"all": []}, "$.all"),
    ({"all": [{"field": "tier", "op": "eq", "value": "vip"}]}, "$.all[0].field"),
    ({"any": [{"field": "value_tier", "op": "eq", "value": "gold"}]}, "$.any[0].value"),
    ({"not": {"field": "rfm_recency", "op": "between", "value": [4, 2]}}, "$.not.value"),
    ({"all": [{"field": "last_order", "op": "within", "value": 3}]}, "$.all[0]"),
    ({"all": [{"field": "store", "op": "in", "value": ["x"]}]}, "$.all[0].value"),
    ({"all": [{"any": [{"field": "consent", "op": "granted", "value": "fax"}]}]},
     "$.all[0].any[0].value"),
    ({"all": [], "any": []}, "$"),
    (["not an object"], "$"),
])
def test_a_bad_node_is_refused_with_its_path(db: Session, rule: Any, path: str) -> None:
    with pytest.raises(InvalidSegmentRule) as raised:
        segment(db, rule)
    assert raised.value.details["path"] == path
    assert raised.value.code == "invalid_segment_rule"


def test_a_rule_selects_exactly_the_customers_it_names(db: Session) -> None:
    store, other = new_store(db), new_store(db)
    now = utcnow()
    vip_recent = new_customer(db, store)
    vip_recent.value_tier, vip_recent.lifecycle_stage = "vip", "active"
    order(db, vip_recent, at=now - timedelta(days=3), paid_fen=80_000)
    vip_stale = new_customer(db, store)
    vip_stale.value_tier = "vip"
    order(db, vip_stale, at=now - timedelta(days=90), paid_fen=50_000)
    low_tagged = new_customer(db, store, consent=False)
    low_tagged.value_tier = "low"
    tag(db, low_tagged, "爱吃榴莲")
    risky = new_customer(db, other)
    risky.value_tier = "vip"
    tag(db, risky, "risk:high", "risk")
    order(db, risky, at=now - timedelta(days=1), paid_fen=5_000)
    never = new_customer(db, other, consent=None)
    group = Group(store_id=store.id, owner_user_id=make_user(db, "grp-owner", Role.STAFF,
                                                               store).id,
                  name="福利群", capacity=50)
    db.add(group)
    db.flush()
    db.add(GroupMember(group_id=group.id, customer_id=low_tagged.id, customer_key=low_tagged.id,
                       status="member", first_joined_at=now, joined_at=now, source="console"))
    db.flush()
    stores = [store.id, other.id]

    def ids(rule: dict[str, Any]) -> set[int]:
        return _ids(db, rule, stores)

    assert ids({"field": "value_tier", "op": "eq", "value": "vip"}) == {
        vip_recent.id, vip_stale.id, risky.id}
    assert ids({"all": [{"field": "value_tier", "op": "eq", "value": "vip"},
                        {"field": "last_order", "op": "within_days", "value": 30}]}) == {
        vip_recent.id, risky.id}
    assert ids({"all": [{"field": "value_tier", "op": "eq", "value": "vip"},
                        {"field": "risk_level", "op": "at_most", "value": "medium"}]}) == {
        vip_recent.id, vip_stale.id}
    assert ids({"field": "clv_fen", "op": "between", "value": [40_000, 60_000]}) == {
        vip_stale.id}
    assert ids({"field": "last_order", "op": "never", "value": True}) == {
        low_tagged.id, never.id}
    assert ids({"field": "tag", "op": "has", "value": ["爱吃榴莲"]}) == {low_tagged.id}
    assert ids({"field": "group", "op": "member_of", "value": group.id}) == {low_tagged.id}
    assert ids({"field": "consent", "op": "not_granted", "value": "wecom"}) == {
        low_tagged.id, never.id}
    assert ids({"not": {"field": "store", "op": "eq", "value": store.id}}) == {
        risky.id, never.id}
    assert ids({"any": [{"field": "lifecycle_stage", "op": "eq", "value": "active"},
                        {"field": "order_count", "op": "gte", "value": 1}]}) == {
        vip_recent.id, vip_stale.id, risky.id}
    give_consent(db, never, granted=True)
    assert ids({"field": "consent", "op": "granted", "value": "wecom"}) == {
        vip_recent.id, vip_stale.id, risky.id, never.id}


def test_names_are_unique_and_counts_are_live(db: Session) -> None:
    store = new_store(db)
    new_customer(db, store).value_tier = "vip"
    db.flush()
    rule = {"all": [{"field": "store", "op": "eq", "value": store.id},
                    {"field": "value_tier", "op": "eq", "value": "vip"}]}
    saved = segment(db, rule, name="高价值")
    with pytest.raises(SegmentNameTaken):
        segment(db, rule, name="高价值")
    assert segment_service.refresh_count(db, actor=SYSTEM, segment_id=saved.id).last_count == 1
    new_customer(db, store).value_tier = "vip"
    db.flush()
    assert segment_service.refresh_count(db, actor=SYSTEM, segment_id=saved.id).last_count == 2


def test_preview_is_masked_scoped_and_pseudonymous_for_analysts(db: Session) -> None:
    store, other = new_store(db), new_store(db)
    mine = new_customer(db, store, name="王小明")
    theirs = new_customer(db, other, name="李大海")
    rule = {"field": "store", "op": "in", "value": [store.id, other.id]}
    operator = segment_service.preview_rule(db, actor=SYSTEM, rule=rule)
    assert operator.count == 2 and operator.personal_data == "masked"
    assert {row.name for row in operator.customers} == {"王**", "李**"}
    assert all("****" in (row.phone or "") for row in operator.customers)
    staff = Principal(kind=ActorKind.USER, id=1, name="s", role=Role.STAFF, store_id=store.id)
    scoped = segment_service.preview_rule(db, actor=staff, rule=rule)
    assert scoped.count == 1 and [row.id for row in scoped.customers] == [mine.id]
    analyst = Principal(kind=ActorKind.USER, id=2, name="a", role=Role.ANALYST)
    hidden = segment_service.preview_rule(db, actor=analyst, rule=rule)
    assert hidden.personal_data == "pseudonymous"
    assert all(row.id is None and row.name is None and row.phone is None
               for row in hidden.customers)
    assert {row.pseudonym for row in hidden.customers} >= {hidden.customers[0].pseudonym}
    assert theirs.id not in {row.id for row in scoped.customers}
