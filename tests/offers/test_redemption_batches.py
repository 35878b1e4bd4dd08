"""Redemptions decided together (the server's group commit) answer exactly what the same
requests answer one by one: waves for a second coupon on an order, a second redemption of a
coupon and a repeated idempotency key; refusals that leave nothing behind; on both
backends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.offers.support import key, make_customers, make_order, threshold_template
from tests.support.factories import SYSTEM, make_store
from yutang.kit.errors import DomainError
from yutang.offers import service
from yutang.offers.idempotency import Outcome
from yutang.offers.models import Coupon, CouponEvent, IdempotencyRecord
from yutang.offers.schemas import ClaimIn, CouponTemplateCreate, RedemptionIn


@dataclass
class Scenario:
    requests: list[tuple[str, RedemptionIn]]
    codes: dict[str, str]
    orders: dict[str, int]


def _template(db: Session, **overrides: Any) -> int:
    outcome = service.create_template(db, actor=SYSTEM, data=CouponTemplateCreate.model_validate(
        threshold_template(stock=None, threshold_fen=0, discount_fen=500, **overrides)))
    assert outcome.succeeded, outcome.body
    return int(outcome.body["id"])


def _scenario(db: Session) -> Scenario:
    """Two stackable coupons and an exclusive one of one customer, a stackable one of
    another; two orders of the first customer, one of the second; eight requests whose
    answers depend on the ones before them."""
    store = make_store(db, key("S").replace("-", "")[:12])
    mine, theirs = make_customers(db, store, 2, prefix=key("139")[-7:])
    stackable, exclusive = _template(db, stacking="stackable"), _template(db)
    codes = {}
    for name, template_id, customer in (("s1", stackable, mine), ("s2", stackable, mine),
                                        ("e1", exclusive, mine), ("s3", stackable, theirs)):
        claimed = service.claim(db, actor=SYSTEM, template_id=template_id, data=ClaimIn(
            customer_id=customer.id, idempotency_key=key("c")))
        assert claimed.succeeded, claimed.body
        codes[name] = str(claimed.body["code"])
    orders = {name: make_order(db, customer, total_fen=5_000, store=store).id
              for name, customer in (("o1", mine), ("o2", mine), ("o3", theirs))}
    first_key = key("r")

    def request(code: str, order: str, idempotency_key: str | None = None) -> tuple[
            str, RedemptionIn]:
        return code, RedemptionIn(order_id=orders[order],
                                  idempotency_key=idempotency_key or key("r"))

    return Scenario(requests=[
        request(codes["s1"], "o1", first_key),        # redeemed
        request(codes["s2"].lower(), "o1"),           # stacks on it: a second wave
        request(codes["e1"], "o1"),                   # exclusive on an order with coupons
        request(codes["s1"], "o2"),                   # redeemed already (on o1)
        request(codes["s3"], "o1"),                   # another customer's coupon
        request(codes["s1"], "o1", first_key),        # the first request again: a replay
        request(codes["s2"], "o3", first_key),        # its key for another request
        request("NOPE0000", "o3"),                    # no such coupon
    ], codes=codes, orders=orders)


def _summary(answer: Outcome | DomainError, scenario: Scenario) -> tuple[Any, ...]:
    """The answer with coupons and orders by their names in the scenario."""
    if isinstance(answer, DomainError):
        return ("raised", answer.code)
    error = answer.body.get("error")
    if error:
        return (answer.status_code, error["code"], error["details"].get("reason"),
                answer.replayed)
    coupons = {code: name for name, code in scenario.codes.items()}
    orders = {order_id: name for name, order_id in scenario.orders.items()}
    return (answer.status_code, coupons[answer.body["coupon"]["code"]],
            orders[answer.body["order_id"]], answer.body["discount_fen"], answer.replayed)


def _one_by_one(db: Session, requests: list[tuple[str, RedemptionIn]]) -> list[Any]:
    answers: list[Outcome | DomainError] = []
    for code, data in requests:
        try:
            answers.append(service.redeem(db, actor=SYSTEM, code=code, data=data))
        except DomainError as refusal:
            answers.append(refusal)
    return answers


def test_a_batch_answers_what_the_same_requests_answer_one_by_one(db: Session) -> None:
    together, alone = _scenario(db), _scenario(db)
    batched = service.redeem_batch(db, [(SYSTEM, code, data)
                                        for code, data in together.requests])
    single = _one_by_one(db, alone.requests)

    def normalised(answers: list[Any], scenario: Scenario) -> list[tuple[Any, ...]]:
        return [_summary(answer, scenario) for answer in answers]

    expected = [
        (201, "s1", "o1", 500, False),
        (201, "s2", "o1", 500, False),
        (409, "coupon_not_applicable", "stacking", False),
        (409, "coupon_already_redeemed", None, False),
        (409, "coupon_not_applicable", "other_customer", False),
        (201, "s1", "o1", 500, True),
        ("raised", "idempotency_key_reused"),
        (404, "coupon_not_found", None, False),
    ]
    assert normalised(batched, together) == expected
    assert normalised(single, alone) == expected
    db.expire_all()
    for scenario in (together, alone):
        status = {name: db.scalar(select(Coupon.status).where(Coupon.code == code))
                  for name, code in scenario.codes.items()}
        assert status == {"s1": "redeemed", "s2": "redeemed", "e1": "available",
                          "s3": "available"}
        events = db.execute(select(Coupon.code, CouponEvent.order_id).join(Coupon).where(
            Coupon.code.in_(scenario.codes.values()), CouponEvent.kind == "redeemed")).all()
        assert sorted(events) == sorted([(scenario.codes["s1"], scenario.orders["o1"]),
                                         (scenario.codes["s2"], scenario.orders["o1"])])
    # every key's record holds its first outcome (the replayed and reused one: the first)
    records = {record.key: record.status_code for record in db.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.operation == "coupon.redeem",
                                        IdempotencyRecord.key.in_(
                                            [data.idempotency_key
                                             for _, data in together.requests])))}
    assert sorted(records.values()) == [201, 201, 404, 409, 409, 409]
