"""The redemption hot path on both backends: its replays, what a refusal leaves behind
(nothing but the key's record), the re-checks of its one final write, and how many
statements it costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.offers.support import key, make_customers, make_order, seed, threshold_template
from tests.support.factories import SYSTEM, make_api_key, make_store
from yutang.access.roles import Role
from yutang.kit.clock import utcnow
from yutang.offers import redemption_repository, service
from yutang.offers.models import Coupon, CouponEvent, IdempotencyRecord
from yutang.offers.redemption_repository import RedemptionWrite
from yutang.offers.schemas import ClaimIn, CouponTemplateCreate, RedemptionIn


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _template(db: Session, **overrides: Any) -> int:
    outcome = service.create_template(db, actor=SYSTEM, data=CouponTemplateCreate.model_validate(
        threshold_template(**overrides)))
    assert outcome.succeeded, outcome.body
    return int(outcome.body["id"])


def _coupon(db: Session, template_id: int, customer_id: int) -> str:
    outcome = service.claim(db, actor=SYSTEM, template_id=template_id,
                            data=ClaimIn(customer_id=customer_id, idempotency_key=key("c")))
    assert outcome.succeeded, outcome.body
    return str(outcome.body["code"])


def _redeemed_events(db: Session, code: str) -> list[tuple[int | None, int]]:
    return [(row.order_id, row.discount_fen) for row in db.scalars(
        select(CouponEvent).join(Coupon).where(Coupon.code == code,
                                               CouponEvent.kind == "redeemed"))]


def test_replays_answer_the_first_outcome_and_a_refusal_writes_nothing(
    client: TestClient, db: Session
) -> None:
    store, api_key, (customer, other, _) = seed(db)
    code = _coupon(db, _template(db, stock=None), customer.id)
    theirs = make_order(db, other, total_fen=20_000, store=store)
    db.commit()
    path = f"/api/v1/coupons/{code.lower()}/redemptions"
    refused = client.post(path, json={"order_id": theirs.id, "idempotency_key": "r-refused"},
                          headers=_headers(api_key))
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["reason"] == "other_customer"
    # the refusal is the key's outcome; the coupon and its timeline are untouched
    assert db.scalar(select(Coupon.status).where(Coupon.code == code)) == "available"
    assert _redeemed_events(db, code) == []
    mine = make_order(db, customer, total_fen=15_000, store=store,
                      external_order_id="POS-42")
    db.commit()
    again = client.post(path, json={"order_id": theirs.id, "idempotency_key": "r-refused"},
                        headers=_headers(api_key))
    assert (again.status_code, again.json()) == (409, refused.json())
    assert again.headers["Idempotent-Replayed"] == "true"

    body = {"source": "pos", "external_order_id": "POS-42", "idempotency_key": "r-ok"}
    redeemed = client.post(path, json=body, headers=_headers(api_key))
    assert redeemed.status_code == 201, redeemed.text
    first = redeemed.json()
    assert (first["order_id"], first["discount_fen"], first["gift_sku"]) == (mine.id, 2_000,
                                                                              None)
    assert (first["coupon"]["code"], first["coupon"]["status"],
            first["coupon"]["order_id"]) == (code, "redeemed", mine.id)
    replay = client.post(path, json=body, headers=_headers(api_key))
    assert (replay.status_code, replay.json()) == (201, first)
    assert replay.headers["Idempotent-Replayed"] == "true"
    reused = client.post(path, json={**body, "external_order_id": "POS-43"},
                         headers=_headers(api_key))
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert _redeemed_events(db, code) == [(mine.id, 2_000)]
    db.expire_all()
    row = db.scalars(select(Coupon).where(Coupon.code == code)).one()
    assert (row.status, row.order_id, row.discount_fen) == ("redeemed", mine.id, 2_000)
    assert row.redeemed_at is not None
    records = {record.key: (record.status_code, record.response) for record in db.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.operation == "coupon.redeem"))}
    assert records["r-ok"] == (201, first)
    assert records["r-refused"] == (409, refused.json())


def test_orders_named_by_number_and_store_scoping(client: TestClient, db: Session) -> None:
    store, _, (customer, *_) = seed(db)
    elsewhere = make_store(db, key("E").replace("-", ""))
    staff_key = make_api_key(db, Role.STAFF, store)
    template_id = _template(db, stock=None, threshold_fen=0)
    code = _coupon(db, template_id, customer.id)
    twice = make_order(db, customer, store=store, external_order_id="TWICE")
    twice.source = "mall"
    db.flush()
    make_order(db, customer, store=store, external_order_id="TWICE")  # source "pos"
    remote = make_order(db, customer, store=elsewhere, external_order_id="REMOTE")
    (stranger,) = make_customers(db, elsewhere, 1, prefix="1370002")
    hidden_code = _coupon(db, template_id, stranger.id)
    own = make_order(db, customer, store=store)
    db.commit()

    def redeem(coupon: str, **order: Any) -> Any:
        return client.post(f"/api/v1/coupons/{coupon}/redemptions",
                           json={**order, "idempotency_key": key("r")},
                           headers=_headers(staff_key)).json()

    # one number, two sources: no single order has it unless the source is given
    assert redeem(code, external_order_id="TWICE")["error"]["details"]["reason"] == (
        "unknown_order")
    assert redeem(code, external_order_id="NOPE")["error"]["details"]["reason"] == (
        "unknown_order")
    assert redeem(code, external_order_id="REMOTE")["error"]["code"] == "order_not_found"
    assert redeem(code, order_id=remote.id)["error"]["code"] == "order_not_found"
    assert redeem(hidden_code, order_id=own.id)["error"]["code"] == "coupon_not_found"
    assert _redeemed_events(db, code) == []
    done = redeem(code, source="mall", external_order_id="TWICE")
    assert (done["order_id"], done["coupon"]["status"]) == (twice.id, "redeemed")


def test_the_final_write_rechecks_what_the_benefit_assumed(db: Session) -> None:
    store, _, (customer, *_) = seed(db)
    stackable = _template(db, stock=None, threshold_fen=0, discount_fen=500,
                          stacking="stackable")
    exclusive = _template(db, stock=None, threshold_fen=0, discount_fen=500)
    first, second, alone = (_coupon(db, stackable, customer.id),
                            _coupon(db, stackable, customer.id),
                            _coupon(db, exclusive, customer.id))
    order = make_order(db, customer, total_fen=5_000, store=store)
    record = IdempotencyRecord(operation="test", key=key(), fingerprint="f", status_code=0,
                               response={}, created_at=utcnow())
    db.add(record)
    db.flush()
    ids = {code: db.scalar(select(Coupon.id).where(Coupon.code == code))
           for code in (first, second, alone)}

    def write(code: str, *, seen: int, is_exclusive: bool) -> bool:
        redeemed = redemption_repository.redeem_and_record(db, [RedemptionWrite(
            coupon_id=ids[code], order_id=order.id, discount_fen=500, seen_discounted_fen=seen,
            exclusive=is_exclusive, actor_name="test", details={}, record_id=record.id,
            response={"code": code})], now=utcnow(), status_code=201)
        assert redeemed <= {ids[code]}
        return redeemed == {ids[code]}

    assert write(first, seen=0, is_exclusive=False)
    # the order's coupons took 500 off since the benefit was computed on 0: refused
    assert not write(second, seen=0, is_exclusive=False)
    # an exclusive coupon on an order that holds one already: refused
    assert not write(alone, seen=500, is_exclusive=True)
    db.expire_all()
    stored = db.get(IdempotencyRecord, record.id)
    assert stored is not None and stored.response == {"code": first}
    assert [db.scalar(select(Coupon.status).where(Coupon.code == code))
            for code in (first, second, alone)] == ["redeemed", "available", "available"]
    assert _redeemed_events(db, second) == _redeemed_events(db, alone) == []
    assert write(second, seen=500, is_exclusive=False)
    assert not write(first, seen=1_000, is_exclusive=False)  # no longer available
    assert _redeemed_events(db, first) == [(order.id, 500)]
    assert _redeemed_events(db, second) == [(order.id, 500)]
    state = redemption_repository.lock_orders(db, [order.id])[order.id]
    assert (state.redeemed_on_order, state.discounted_on_order_fen,
            state.exclusive_on_order) == (2, 1_000, False)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*arguments: Any) -> None:
        seen.append(str(arguments[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_redemption_costs_four_statements_on_postgresql(
    db: Session, engine: Engine, backend: str
) -> None:
    """The key's claim, the order, the coupon, the write (on SQLite the write is three
    statements): a regression guard of the hot path, not a timing."""
    store, _, (customer, *_) = seed(db)
    code = _coupon(db, _template(db, stock=None), customer.id)
    order = make_order(db, customer, total_fen=15_000, store=store)
    with _statements(engine) as seen:
        outcome = service.redeem(db, actor=SYSTEM, code=code, data=RedemptionIn(
            order_id=order.id, idempotency_key=key()))
    assert outcome.succeeded, outcome.body
    expected = 4 if backend == "postgresql" else 6
    assert len(seen) == expected, seen
    assert db.scalar(select(func.count()).select_from(CouponEvent).join(Coupon).where(
        Coupon.code == code, CouponEvent.kind == "redeemed")) == 1
