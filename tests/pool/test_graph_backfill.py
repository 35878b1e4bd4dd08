"""Identities written without the graph (bulk loads, old data) get their nodes and links."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM, make_customer, make_store
from yutang.kit.crypto import get_protector
from yutang.pool import oneid
from yutang.pool.graph_backfill import backfill_graph
from yutang.pool.models import (
    Identity,
    IdentityLink,
    IdentityStatus,
    IdentityValue,
    MergeLog,
)
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, Trigger
from yutang.pool.oneid_rebuild import apply_rebuild, plan_rebuild


def _add(db: Session, customer_id: int, kind: str, value: str) -> None:
    db.add(Identity(customer_id=customer_id, kind=kind, scope="", value=value,
                    value_index=get_protector().blind_index(value, kind), source="legacy"))
    db.flush()


def test_backfill_builds_nodes_links_and_refuses_placeholders(db: Session) -> None:
    store = make_store(db, "SH01")
    anna = make_customer(db, store=store, name="张伟", phone="13812345678")
    bo = make_customer(db, store=store, name="李娜", phone="13987654321")
    _add(db, anna.id, "wechat_unionid", "U-anna")
    _add(db, anna.id, "device_id", "PAD-1")
    _add(db, bo.id, "device_id", "PAD-1")
    _add(db, bo.id, "member_card", "0")
    backfill_graph(db)
    values = {(row.kind, row.status, row.strength) for row in db.scalars(select(IdentityValue))}
    assert values == {("phone", "usable", "strong"), ("wechat_unionid", "usable", "strong"),
                      ("device_id", "usable", "weak"), ("member_card", "placeholder", "strong")}
    assert db.scalar(select(func.count()).select_from(IdentityValue)) == 5
    assert db.scalar(select(func.count()).select_from(Identity)
                     .where(Identity.value_id.is_(None))) == 0
    assert db.scalar(select(func.count()).select_from(IdentityLink)) == 1
    plan = plan_rebuild(db, DEFAULT_POLICY)
    assert (plan.merges, plan.splits, plan.newly_shared) == ([], [], [])
    found = oneid.resolve(db, identifiers=[IdentifierInput("phone", "13812345678")],
                          trigger=Trigger("test", "after backfill", SYSTEM))
    assert found.customer is not None and found.customer.id == anna.id and not found.created
    placeholder = db.scalars(select(IdentityValue).where(
        IdentityValue.kind == "member_card")).one()
    assert placeholder.status == IdentityStatus.PLACEHOLDER


def test_the_rebuild_brings_identities_outside_the_graph_in_and_merges_them(db: Session) -> None:
    store = make_store(db, "SH02")
    first = make_customer(db, store=store, name="王芳", phone="13812340001")
    second = make_customer(db, store=store, name="王芳", phone="13812340002")
    _add(db, first.id, "wechat_unionid", "U-wang")
    _add(db, second.id, "wechat_unionid", "U-wang")
    outside = db.scalar(select(func.count()).select_from(Identity)
                        .where(Identity.value_id.is_(None)))
    assert outside == 4
    before = plan_rebuild(db, DEFAULT_POLICY)
    assert before.identities_outside_graph == 4 and before.differs
    assert db.scalar(select(func.count()).select_from(MergeLog)) == 0  # a check writes nothing
    applied = apply_rebuild(db, actor=SYSTEM, policy=DEFAULT_POLICY)
    assert applied.identities_outside_graph == 4
    assert applied.merges == [[first.id, second.id]]
    assert db.scalar(select(func.count()).select_from(Identity)
                     .where(Identity.value_id.is_(None))) == 0
    db.refresh(second)
    assert second.merged_into_id == first.id
    after = plan_rebuild(db, DEFAULT_POLICY)
    assert not after.differs
