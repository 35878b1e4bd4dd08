"""Incremental resolution and the batch rebuild agree on any sequence of records."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.kit.clock import utcnow
from yutang.pool import oneid
from yutang.pool.models import Customer, MergeLog
from yutang.pool.oneid import DEFAULT_POLICY, IdentifierInput, OneIdPolicy, Trigger
from yutang.pool.oneid_rebuild import apply_rebuild, plan_rebuild

KINDS = ("wechat_unionid", "phone", "taobao_id", "device_id")
identifier = st.tuples(st.sampled_from(KINDS), st.integers(0, 6))
records = st.lists(st.lists(identifier, min_size=1, max_size=3), min_size=1, max_size=12)


def _value(kind: str, number: int) -> str:
    return f"1391234{number:04d}" if kind == "phone" else f"{kind}-{number}"


def _ingest(db: Session, batches: list[list[list[tuple[str, int]]]]) -> None:
    for batch in batches:
        oneid.resolve_many(db, [
            oneid.RecordToResolve(
                prepared=oneid.prepare([IdentifierInput(k, _value(k, n)) for k, n in record],
                                       DEFAULT_POLICY),
                seen_at=utcnow(), trigger=Trigger("test", "r", SYSTEM))
            for record in batch
        ])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records, cut=st.integers(1, 4))
def test_incremental_pool_equals_the_batch_result(db: Session, records: list[list[tuple[str, int]]],
                                                  cut: int) -> None:
    savepoint = db.begin_nested()
    try:
        batches = [records[i:i + cut] for i in range(0, len(records), cut)]
        _ingest(db, batches)
        plan = plan_rebuild(db, DEFAULT_POLICY)
        assert (plan.merges, plan.splits, plan.newly_shared) == ([], [], [])
    finally:
        savepoint.rollback()


def test_a_stricter_policy_is_applied_to_existing_data(db: Session) -> None:
    _ingest(db, [[[("wechat_unionid", n), ("phone", 1)]] for n in range(3)])
    assert db.scalar(select(func.count()).select_from(Customer)
                     .where(Customer.merged_into_id.is_(None))) == 1
    stricter = OneIdPolicy(max_customers_per_value=1)
    plan = plan_rebuild(db, stricter)
    assert len(plan.newly_shared) == 1 and len(plan.splits) == 1
    apply_rebuild(db, actor=SYSTEM, policy=stricter)
    assert db.scalar(select(func.count()).select_from(Customer)
                     .where(Customer.merged_into_id.is_(None))) == 3
    assert plan_rebuild(db, stricter).splits == []
    assert db.scalars(select(MergeLog.action).order_by(MergeLog.id)).all()[-1] == "split"


def test_live_customers_takes_more_ids_than_a_statement_may_bind(db: Session) -> None:
    """A rebuild asks about every customer at once: more than SQLite's 32,766 variables."""
    from yutang.pool.graph_repository import live_customers

    found = oneid.resolve(db, identifiers=[IdentifierInput("phone", "13912345678")],
                          trigger=Trigger("test", "live", SYSTEM))
    assert found.customer is not None
    asked = set(range(found.customer.id + 1, found.customer.id + 40_001)) | {found.customer.id}
    assert live_customers(db, asked) == {found.customer.id}
