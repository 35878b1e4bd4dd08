"""Consent records, the customer timeline and the overview numbers (months in Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM, make_customer, make_store
from yutang.access.models import AuditEntry
from yutang.access.roles import ActorKind, Principal, Role
from yutang.kit.clock import set_now_source
from yutang.pool import service as pool_service
from yutang.pool.errors import InvalidConsent
from yutang.pool.models import Consent, Order


def test_consent_is_append_only_and_the_newest_decision_wins(db: Session) -> None:
    store = make_store(db, "A01")
    customer = make_customer(db, store=store, name="周杰", phone="13600001234")
    pool_service.record_consent(db, actor=SYSTEM, customer=customer, channel="wecom",
                                granted=True, source="store_qr",
                                recorded_at=datetime(2026, 1, 1, tzinfo=UTC))
    pool_service.record_consent(db, actor=SYSTEM, customer=customer, channel="wecom",
                                granted=False, source="unsubscribe_reply",
                                recorded_at=datetime(2026, 2, 1, tzinfo=UTC))
    pool_service.record_consent(db, actor=SYSTEM, customer=customer, channel="sms",
                                granted=True, source="member_signup")
    assert pool_service.current_consent(db, customer=customer) == {"wecom": False, "sms": True}
    assert db.scalar(select(func.count()).select_from(Consent)) == 3
    with pytest.raises(InvalidConsent):
        pool_service.record_consent(db, actor=SYSTEM, customer=customer, channel="fax",
                                    granted=True, source="x")
    with pytest.raises(InvalidConsent):
        pool_service.record_consent(db, actor=SYSTEM, customer=customer, channel="sms",
                                    granted=True, source="  ")
    assert db.scalar(select(func.count()).select_from(Consent)) == 3
    assert db.scalar(select(func.count()).where(AuditEntry.action.like("consent.%"))) == 3

    detail = pool_service.customer_detail(db, principal=SYSTEM, customer_id=customer.id)
    assert detail.current_consent == {"wecom": False, "sms": True}
    actions = [entry.action for entry in detail.timeline if entry.kind == "consent"]
    assert sorted(actions) == ["consent.granted", "consent.granted", "consent.withdrawn"]


def _order(db: Session, customer_id: int, store_id: int, at: datetime, paid: int,
           status: str = "completed") -> None:
    db.add(Order(source="pos", external_order_id=f"{customer_id}-{at.isoformat()}",
                 customer_id=customer_id, store_id=store_id, status=status, total_fen=paid,
                 paid_fen=paid, ordered_at=at, paid_at=at))
    db.flush()


def test_overview_counts_by_shanghai_month_and_respects_store_scope(db: Session) -> None:
    set_now_source(lambda: datetime(2026, 3, 15, 4, 0, tzinfo=UTC))
    store_a, store_b = make_store(db, "A01"), make_store(db, "B01")
    # 2026-01-31 17:00 UTC is 2026-02-01 01:00 in Shanghai: a February customer.
    early = make_customer(db, store=store_a, name="甲", phone="13000000001",
                          acquired_at=datetime(2026, 1, 31, 17, 0, tzinfo=UTC))
    make_customer(db, store=store_a, name="乙", phone="13000000002",
                  acquired_at=datetime(2026, 1, 31, 15, 0, tzinfo=UTC))
    other = make_customer(db, store=store_b, name="丙", phone="13000000003",
                          acquired_at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    _order(db, early.id, store_a.id, datetime(2026, 2, 28, 16, 30, tzinfo=UTC), 12_345)
    _order(db, early.id, store_a.id, datetime(2026, 2, 10, 4, 0, tzinfo=UTC), 1_000)
    _order(db, early.id, store_a.id, datetime(2026, 2, 11, 4, 0, tzinfo=UTC), 999_999,
           status="refunded")
    _order(db, other.id, store_b.id, datetime(2026, 3, 2, 4, 0, tzinfo=UTC), 5_000)

    everything = pool_service.overview(db, principal=SYSTEM, months=3)
    assert everything.months == ["2026-01", "2026-02", "2026-03"]
    assert [point.value for point in everything.pool_size_by_month] == [1, 2, 3]
    assert [point.value for point in everything.gmv_by_month] == [0, 1_000, 17_345]
    assert everything.customers == 3

    staff = Principal(kind=ActorKind.USER, id=9, name="s", role=Role.STAFF, store_id=store_a.id)
    mine = pool_service.overview(db, principal=staff, months=3)
    assert [point.value for point in mine.pool_size_by_month] == [1, 2, 2]
    assert [point.value for point in mine.gmv_by_month] == [0, 1_000, 12_345]
    assert mine.customers == 2
