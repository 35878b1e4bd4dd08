"""OneID: strong values merge, weak and refused ones never do, shared values split, unmerge."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.factories import SYSTEM
from yutang.pool import oneid
from yutang.pool.errors import UnknownIdentityKind
from yutang.pool.models import (
    Customer,
    Identity,
    IdentityAlert,
    IdentityStatus,
    IdentityValue,
    MergeLog,
    Order,
)
from yutang.pool.oneid import IdentifierInput, Trigger


def _resolve(db: Session, *pairs: tuple[str, str], scope: str = "",
             at: datetime | None = None) -> oneid.Resolution:
    return oneid.resolve(
        db,
        identifiers=[IdentifierInput(kind, value, scope) for kind, value in pairs],
        trigger=Trigger("test", "record", SYSTEM),
        seen_at=at,
    )


def _customer(resolution: oneid.Resolution) -> Customer:
    assert resolution.customer is not None
    return resolution.customer


def _live_customers(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Customer)
                         .where(Customer.merged_into_id.is_(None))) or 0)


def _values_of(db: Session, customer_id: int) -> set[str]:
    rows = db.scalars(select(Identity).where(Identity.customer_id == customer_id)).all()
    return {f"{row.kind}:{row.value}" for row in rows}


def test_a_record_bridging_two_customers_merges_them_into_the_oldest(db: Session) -> None:
    early = datetime(2026, 3, 1, tzinfo=UTC)
    first = _customer(_resolve(db, ("wechat_unionid", "U-1"), ("wechat_openid", "o-1"),
                               scope="wxA", at=datetime(2026, 5, 1, tzinfo=UTC)))
    second = _customer(_resolve(db, ("phone", "138 1234 5678"), at=early))
    order = Order(source="pos", external_order_id="1", customer_id=second.id, total_fen=100,
                  paid_fen=100, ordered_at=early)
    db.add(order)
    db.flush()
    assert _live_customers(db) == 2

    bridge = _resolve(db, ("wechat_unionid", "U-1"), ("phone", "+86 13812345678"))
    merged = _customer(bridge)
    assert merged.id == first.id
    assert bridge.merged_customer_ids == [second.id]
    assert _live_customers(db) == 1
    db.refresh(second)
    assert second.merged_into_id == first.id
    assert _values_of(db, first.id) == {"wechat_unionid:U-1", "wechat_openid:o-1",
                                        "phone:13812345678"}
    db.refresh(order)
    assert order.customer_id == first.id
    assert merged.acquired_at == early  # the first touch is the person's earliest
    (log,) = db.scalars(select(MergeLog)).all()
    assert (log.action, log.survivor_id, log.customers_before) == (
        "merge", first.id, [first.id, second.id])
    assert log.trigger == "test"
    # The same record again changes nothing.
    again = _resolve(db, ("wechat_unionid", "U-1"), ("phone", "13812345678"))
    assert _customer(again).id == first.id and again.merged_customer_ids == []
    assert db.scalar(select(func.count()).select_from(MergeLog)) == 1


def test_placeholders_and_weak_devices_never_fuse_strangers(db: Session) -> None:
    one = _customer(_resolve(db, ("wechat_unionid", "U-1"), ("phone", "13800000000"),
                             ("device_id", "front-desk-pad")))
    two = _customer(_resolve(db, ("wechat_unionid", "U-2"), ("phone", "13800000000"),
                             ("device_id", "front-desk-pad")))
    assert one.id != two.id
    assert _live_customers(db) == 2
    assert db.scalar(select(func.count()).select_from(MergeLog)) == 0
    placeholder = db.scalars(select(IdentityValue).where(IdentityValue.kind == "phone")).one()
    assert placeholder.status == IdentityStatus.PLACEHOLDER
    alerts = db.scalars(select(IdentityAlert)).all()
    assert [(alert.value_id, alert.code) for alert in alerts] == [(placeholder.id, "placeholder")]
    # Both keep the device and the placeholder on record.
    assert "device_id:FRONT-DESK-PAD" in _values_of(db, one.id)
    assert "device_id:FRONT-DESK-PAD" in _values_of(db, two.id)
    assert "phone:13800000000" in _values_of(db, two.id)
    # An event with nothing but the shared device resolves to nobody.
    lonely = _resolve(db, ("device_id", "front-desk-pad"))
    assert lonely.customer is None


@pytest.mark.parametrize("value", ["", "null", "0", "11111111111", "12345678901", "abc"])
def test_placeholder_and_malformed_phones_are_refused(db: Session, value: str) -> None:
    resolution = _resolve(db, ("wechat_unionid", "U-9"), ("phone", value))
    assert [kind for kind, _ in resolution.refused] == ["phone"]
    assert _customer(resolution).id


def test_a_value_shared_by_too_many_people_stops_linking_and_splits_them(db: Session) -> None:
    customers = [
        _customer(_resolve(db, ("wechat_unionid", f"U-{n}"), ("phone", "13912345678")))
        for n in range(1, 4)
    ]
    assert len({customer.id for customer in customers}) == 1  # three share: still one
    fourth = _customer(_resolve(db, ("wechat_unionid", "U-4"), ("phone", "13912345678")))
    assert _live_customers(db) == 4
    phone = db.scalars(select(IdentityValue).where(IdentityValue.kind == "phone")).one()
    assert phone.status == IdentityStatus.SHARED
    owners = db.scalars(select(Identity.customer_id).where(
        Identity.value_id == phone.id)).all()
    assert len(set(owners)) == 4 and fourth.id in owners
    for customer_id in set(owners):
        unionids = [v for v in _values_of(db, customer_id) if v.startswith("wechat_unionid")]
        assert len(unionids) == 1
    actions = db.scalars(select(MergeLog.action).order_by(MergeLog.id)).all()
    assert actions == ["split"]  # U-2 and U-3 were attached, not merged
    assert db.scalars(select(IdentityAlert.code).where(
        IdentityAlert.value_id == phone.id)).all() == ["shared_value"]


def test_detaching_an_identity_restores_the_customers_and_their_orders(db: Session) -> None:
    anna = _customer(_resolve(db, ("wechat_unionid", "U-anna"), ("member_card", "m-100")))
    bo = _customer(_resolve(db, ("taobao_id", "tb-bo")))
    bo_order = Order(source="taobao", external_order_id="T1", customer_id=bo.id,
                     total_fen=990, paid_fen=990, ordered_at=datetime(2026, 4, 1, tzinfo=UTC))
    db.add(bo_order)
    db.flush()
    tb_value = db.scalars(select(IdentityValue).where(IdentityValue.kind == "taobao_id")).one()
    bo_order.resolved_value_id = tb_value.id
    # A wrongly typed member card on a Taobao order bridges the two.
    _resolve(db, ("taobao_id", "tb-bo"), ("member_card", "M-100"))
    assert _live_customers(db) == 1
    db.refresh(bo_order)
    assert bo_order.customer_id == anna.id

    card = db.scalars(select(Identity).where(Identity.kind == "member_card")).one()
    results = oneid.detach_identity(db, actor=SYSTEM, customer=anna, identity=card,
                                    reason="wrong card typed at the till")
    ids = [customer.id for customer in results]
    assert ids[:2] == [anna.id, bo.id]  # Bo comes back under his own id
    assert len(ids) == 3  # and the card, detached, is on a record of its own
    assert _values_of(db, anna.id) == {"wechat_unionid:U-anna"}
    assert _values_of(db, bo.id) == {"taobao_id:tb-bo"}
    assert _values_of(db, ids[2]) == {"member_card:M-100"}
    db.refresh(bo_order)
    assert bo_order.customer_id == bo.id
    db.refresh(bo)
    assert bo.merged_into_id is None
    # The detached card never links again.
    again = _resolve(db, ("taobao_id", "tb-bo"), ("member_card", "m-100"))
    assert _customer(again).id == bo.id and _live_customers(db) == 3
    assert db.scalars(select(MergeLog.action).order_by(MergeLog.id)).all() == [
        "merge", "unmerge"]


def test_openids_are_scoped_by_appid(db: Session) -> None:
    one = _customer(_resolve(db, ("wechat_openid", "o-same"), scope="wxAAA"))
    two = _customer(_resolve(db, ("wechat_openid", "o-same"), scope="wxBBB"))
    assert one.id != two.id


def test_unknown_kinds_are_refused_with_a_clear_code(db: Session) -> None:
    with pytest.raises(UnknownIdentityKind) as raised:
        _resolve(db, ("qq_number", "12345"))
    assert raised.value.code == "unknown_identity_kind"
    assert db.scalar(select(func.count()).select_from(IdentityValue)) == 0
