"""Stored value, points, membership and the reconciliation, through the API and services,
on both backends."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.offers.support import key, ledger_invariants, make_order, seed
from tests.support.factories import SYSTEM
from yutang.kit.clock import set_now_source, to_local, utcnow
from yutang.offers import service
from yutang.offers.models import LedgerAccount, LedgerTransaction, PointsLot
from yutang.offers.schemas import ChargeIn, MembershipTierCreate, PointsEarnIn, TopUpIn
from yutang.pool import graph_repository
from yutang.pool.models import Customer


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _post(client: TestClient, api_key: str, path: str, **body: Any) -> Any:
    body.setdefault("idempotency_key", key())
    return client.post(path, json=body, headers=_headers(api_key))


def _error(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_top_up_with_a_plan_charge_and_refunds(client: TestClient, db: Session) -> None:
    store, api_key, (customer, *_) = seed(db)
    base = f"/api/v1/members/{customer.id}/stored-value"
    plan = _post(client, api_key, "/api/v1/top-up-plans", name="充5000送500",
                 pay_fen=500_000, bonus_fen=50_000)
    assert plan.status_code == 201
    short = _post(client, api_key, f"{base}/top-ups", amount_fen=100_000,
                  plan_id=plan.json()["id"])
    assert (short.status_code, _error(short)) == (422, "invalid_top_up")
    topped = _post(client, api_key, f"{base}/top-ups", amount_fen=500_000,
                   plan_id=plan.json()["id"])
    assert topped.status_code == 201
    assert (topped.json()["principal_balance_fen"], topped.json()["bonus_balance_fen"]) == (
        500_000, 50_000)

    order = make_order(db, customer, total_fen=520_000, store=store)
    charged = _post(client, api_key, f"{base}/charges", amount_fen=520_000, order_id=order.id)
    assert charged.status_code == 201, charged.text
    assert (charged.json()["principal_fen"], charged.json()["bonus_fen"]) == (-500_000, -20_000)
    too_much = _post(client, api_key, f"{base}/charges", amount_fen=30_001,
                     external_order_id="TB-1")
    assert (too_much.status_code, _error(too_much)) == (409, "insufficient_balance")

    back = _post(client, api_key, f"{base}/refunds", amount_fen=30_000, order_id=order.id)
    assert back.status_code == 201
    assert (back.json()["principal_fen"], back.json()["bonus_fen"]) == (10_000, 20_000)
    over = _post(client, api_key, f"{base}/refunds", amount_fen=490_001, order_id=order.id)
    assert (over.status_code, _error(over)) == (409, "refund_exceeds_charges")

    view = client.get(base, headers=_headers(api_key)).json()
    assert (view["balance_fen"], view["principal_fen"], view["bonus_fen"]) == (
        60_000, 10_000, 50_000)
    assert [entry["kind"] for entry in view["entries"]] == [
        "charge_refund", "charge", "top_up"]

    cash = _post(client, api_key, f"{base}/refunds", amount_fen=5_000)
    assert cash.status_code == 201
    # half the principal paid back: half the bonus forfeited
    assert (cash.json()["principal_balance_fen"], cash.json()["bonus_balance_fen"]) == (
        5_000, 25_000)
    not_bonus = _post(client, api_key, f"{base}/refunds", amount_fen=5_001)
    assert (not_bonus.status_code, _error(not_bonus)) == (409, "insufficient_balance")
    ledger_invariants(db)
    day = to_local(utcnow()).date()
    report = client.get(f"/api/v1/stored-value/reconciliation?day={day.isoformat()}",
                        headers=_headers(api_key)).json()
    assert report["ok"] is True
    assert report["customer_liabilities_fen"] == report["merchant_side_fen"]
    assert report["closing_principal_fen"] - report["opening_principal_fen"] == sum(
        line["principal_fen"] for line in report["movements"])
    bad_day = client.get("/api/v1/stored-value/reconciliation?day=yesterday",
                         headers=_headers(api_key))
    assert _error(bad_day) == "invalid_reconciliation_date"


def test_reconciliation_equals_the_sum_of_balances(db: Session) -> None:
    _, _, customers = seed(db, customers=4)
    yesterday = utcnow() - timedelta(days=1)
    set_now_source(lambda: yesterday)
    for number, customer in enumerate(customers):
        service.top_up(db, actor=SYSTEM, customer_id=customer.id,
                       data=TopUpIn(idempotency_key=key(), amount_fen=10_000 * (number + 1)))
    set_now_source(None)
    service.charge(db, actor=SYSTEM, customer_id=customers[0].id,
                   data=ChargeIn(idempotency_key=key(), amount_fen=2_500,
                                         external_order_id="POS-9"))
    today = to_local(utcnow()).date()
    report = service.reconcile(db, actor=SYSTEM, day=today)
    balances = sum(
        service.stored_value_of(db, actor=SYSTEM, customer_id=customer.id).balance_fen
        for customer in customers)
    everyone = db.scalar(select(func.sum(LedgerAccount.balance)).where(
        LedgerAccount.customer_id.is_not(None), LedgerAccount.unit == "fen"))
    assert report.customer_liabilities_fen == everyone
    assert balances <= report.customer_liabilities_fen  # other tests' customers may hold more
    assert report.ok
    assert {line.kind: line.principal_fen for line in report.movements}["charge"] == -2_500
    yesterday_report = service.reconcile(db, actor=SYSTEM, day=today - timedelta(days=1))
    assert yesterday_report.closing_principal_fen == report.opening_principal_fen
    assert isinstance(report.day, date)


def test_points_earn_redeem_and_expire_first_in_first_out(
    client: TestClient, db: Session
) -> None:
    _, api_key, (customer, *_) = seed(db)
    base = f"/api/v1/members/{customer.id}/points"
    start = utcnow()
    set_now_source(lambda: start)
    earned = _post(client, api_key, f"{base}/earnings", amount_fen=12_399)
    assert (earned.status_code, earned.json()["points"]) == (201, 123)
    set_now_source(lambda: start + timedelta(days=200))
    assert _post(client, api_key, f"{base}/earnings", points=100).json()["balance"] == 223
    spent = _post(client, api_key, f"{base}/redemptions", points=150)
    assert (spent.status_code, spent.json()["balance"]) == (201, 73)
    refused = _post(client, api_key, f"{base}/redemptions", points=74)
    assert (refused.status_code, _error(refused)) == (409, "insufficient_points")
    lots = db.scalars(select(PointsLot).where(PointsLot.customer_id == customer.id)
                      .order_by(PointsLot.id)).all()
    assert [(lot.earned, lot.remaining) for lot in lots] == [(123, 0), (100, 73)]
    # the first lot is spent, so nothing expires a year after it; the second lot does later
    assert service.sweep(db, actor=SYSTEM, now=start + timedelta(days=366)).points_expired == 0
    assert service.sweep(db, actor=SYSTEM, now=start + timedelta(days=566)).points_expired == 73
    view = client.get(base, headers=_headers(api_key)).json()
    assert view["balance"] == 0 and view["lots"] == []
    assert [entry["kind"] for entry in view["entries"]] == [
        "points_expire", "points_redeem", "points_earn", "points_earn"]
    ledger_invariants(db)


def test_regrade_puts_members_in_tiers_with_history(client: TestClient, db: Session) -> None:
    store, api_key, (light, heavy, idle) = seed(db)
    for code, name, rank, spend in (("normal", "普通", 0, 0), ("silver", "银卡", 1, 100_000),
                                    ("gold", "金卡", 2, 500_000),
                                    ("black", "黑金", 3, 1_500_000)):
        created = _post(client, api_key, "/api/v1/membership-tiers", code=f"{code}{key()}",
                        name=name, rank=rank + 10 * (light.id % 97), min_spend_fen=spend)
        assert created.status_code == 201, created.text
    taken = _post(client, api_key, "/api/v1/membership-tiers", code="x" + key(), name="重复",
                  rank=10 * (light.id % 97))
    assert (taken.status_code, _error(taken)) == (409, "membership_tier_taken")
    now = utcnow()
    make_order(db, light, total_fen=150_000, store=store, ordered_at=now - timedelta(days=30))
    make_order(db, light, total_fen=900_000, store=store, ordered_at=now - timedelta(days=400))
    make_order(db, heavy, total_fen=2_100_000, store=store, ordered_at=now - timedelta(days=3))
    result = service.regrade(db, actor=SYSTEM, now=now)
    assert result.changed >= 2
    members = {customer.id: client.get(f"/api/v1/members/{customer.id}",
                                       headers=_headers(api_key)).json()
               for customer in (light, heavy, idle)}
    assert members[light.id]["tier_name"] == "银卡" and not members[light.id]["is_super_user"]
    assert members[heavy.id]["tier_name"] == "黑金" and members[heavy.id]["is_super_user"]
    assert members[idle.id]["tier"] is None and members[idle.id]["history"] == []
    service.regrade(db, actor=SYSTEM, now=now)  # nothing changed: no new history row
    assert len(client.get(f"/api/v1/members/{light.id}", headers=_headers(api_key))
               .json()["history"]) == 1
    later = service.regrade(db, actor=SYSTEM, now=now + timedelta(days=340))
    history = client.get(f"/api/v1/members/{light.id}", headers=_headers(api_key)).json()
    assert [change["tier"] is not None for change in history["history"]] == [True, True]
    assert history["tier_name"] == "普通"
    assert later.changed >= 1  # other committed customers may change too


def test_a_merge_brings_balances_together(db: Session) -> None:
    _, _, (survivor, loser, _) = seed(db)
    for customer, amount in ((survivor, 1_000), (loser, 2_500)):
        service.top_up(db, actor=SYSTEM, customer_id=customer.id,
                       data=TopUpIn(idempotency_key=key(), amount_fen=amount))
        service.earn_points(db, actor=SYSTEM, customer_id=customer.id,
                            data=PointsEarnIn(idempotency_key=key(), points=amount // 100))
    graph_repository.move_to_survivor(db, [loser.id], survivor.id)
    merged = db.get(Customer, loser.id)
    assert merged is not None
    merged.merged_into_id = survivor.id
    db.flush()
    # the loser's id still finds the (merged) customer
    assert service.stored_value_of(db, actor=SYSTEM, customer_id=loser.id).balance_fen == 3_500
    charged = service.charge(db, actor=SYSTEM, customer_id=loser.id, data=ChargeIn(
        idempotency_key=key(), amount_fen=3_000, external_order_id="M-1"))
    assert charged.succeeded and charged.body["balance_fen"] == 500
    assert db.scalar(select(func.count()).select_from(LedgerTransaction).where(
        LedgerTransaction.kind == "consolidation",
        LedgerTransaction.customer_id == survivor.id)) == 1
    assert service.points_of(db, actor=SYSTEM, customer_id=survivor.id).balance == 35
    ledger_invariants(db)
    tier = service.create_tier(db, actor=SYSTEM, data=MembershipTierCreate(
        idempotency_key=key(), code=f"m{key()}", name="测试", rank=900 + survivor.id % 90))
    assert tier.succeeded


def test_regrading_asks_about_more_customers_than_a_statement_may_bind(db: Session) -> None:
    """A regrade looks up every customer with purchases: more than SQLite's 32,766 variables
    (250,000 in Debian's build) or PostgreSQL's 65,535 parameters at a large merchant."""
    from yutang.offers import repository

    _, _, customers = seed(db)
    seeded = {customer.id for customer in customers}
    asked = set(range(10**9, 10**9 + 300_000)) | seeded  # ids no customer has, and ours
    assert repository.live_customer_ids(db, asked) == seeded
    assert set(repository.current_tiers(db, asked)) == set()
