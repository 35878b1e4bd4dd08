"""Points (积分) on the ledger: earned per yuan, redeemed, expired first-in-first-out.

Each earning is a **lot** that expires ``points_valid_days`` after it; a redemption spends
the lots that expire first. The ledger's points account is the balance; the lots allocate it
(the sum of a customer's remaining lot points equals their balance, checked by the tests).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.kit.clock import utcnow
from yutang.offers import ledger, ledger_repository, repository
from yutang.offers.errors import InsufficientPoints
from yutang.offers.ledger import Leg
from yutang.offers.lookups import resolve_customer
from yutang.offers.models import AccountKind, PointsLot, TransactionKind
from yutang.offers.policy import DEFAULT_POLICY, OffersPolicy
from yutang.offers.schemas import (
    PointsEntryRead,
    PointsLotRead,
    PointsRead,
    PointsTransactionRead,
)

POINTS = AccountKind.POINTS
TRANSACTION_KINDS = (TransactionKind.POINTS_EARN, TransactionKind.POINTS_REDEEM,
                     TransactionKind.POINTS_EXPIRE, TransactionKind.CONSOLIDATION,
                     TransactionKind.CORRECTION)


def points_for_spend(amount_fen: int, policy: OffersPolicy = DEFAULT_POLICY) -> int:
    """Points per *whole* yuan: 12,345 fen (123.45 yuan) earns 123 × points_per_yuan."""
    return amount_fen // 100 * policy.points_per_yuan


def earn(session: Session, *, actor: Principal, customer_id: int, points: int | None = None,
         amount_fen: int | None = None, order_id: int | None = None, reference: str = "",
         policy: OffersPolicy = DEFAULT_POLICY) -> PointsTransactionRead:
    access_service.require(actor, Permission.OFFERS_OPERATE)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    earned = points if points is not None else points_for_spend(amount_fen or 0, policy)
    accounts = ledger.lock_customer(session, customer_id=customer.id, kinds=(POINTS,),
                                    actor_name=actor.name)
    account = accounts[POINTS]
    if earned <= 0:
        return PointsTransactionRead(transaction_id=0, kind=TransactionKind.POINTS_EARN.value,
                                     customer_id=customer.id, at=utcnow(), points=0,
                                     balance=account.balance or 0)
    posted = ledger.post(
        session, kind=TransactionKind.POINTS_EARN, customer_id=customer.id,
        actor_name=actor.name, order_id=order_id, reference=reference,
        legs=[Leg(account.id, POINTS, earned),
              Leg(ledger.merchant_account(session, AccountKind.POINTS_ISSUED),
                  AccountKind.POINTS_ISSUED, -earned)])
    session.add(PointsLot(customer_id=customer.id, transaction_id=posted.transaction_id,
                          earned=earned, remaining=earned, earned_at=posted.at,
                          expires_at=posted.at + timedelta(days=policy.points_valid_days)))
    session.flush()
    return PointsTransactionRead(
        transaction_id=posted.transaction_id, kind=TransactionKind.POINTS_EARN.value,
        customer_id=customer.id, at=posted.at, points=earned, balance=posted.balances[account.id])


def redeem(session: Session, *, actor: Principal, customer_id: int, points: int,
           order_id: int | None = None, reference: str = "") -> PointsTransactionRead:
    access_service.require(actor, Permission.OFFERS_OPERATE)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    account = ledger.lock_customer(session, customer_id=customer.id, kinds=(POINTS,),
                                   actor_name=actor.name)[POINTS]
    balance = account.balance or 0
    if points > balance:
        raise InsufficientPoints(f"{balance} points do not cover {points}",
                                 balance=balance, points=points)
    _spend_lots(session, customer.id, points)
    posted = ledger.post(
        session, kind=TransactionKind.POINTS_REDEEM, customer_id=customer.id,
        actor_name=actor.name, order_id=order_id, reference=reference,
        insufficient=InsufficientPoints,
        legs=[Leg(account.id, POINTS, -points),
              Leg(ledger.merchant_account(session, AccountKind.POINTS_REDEEMED),
                  AccountKind.POINTS_REDEEMED, points)])
    return PointsTransactionRead(
        transaction_id=posted.transaction_id, kind=TransactionKind.POINTS_REDEEM.value,
        customer_id=customer.id, at=posted.at, points=-points,
        balance=posted.balances[account.id])


def _spend_lots(session: Session, customer_id: int, points: int) -> None:
    left = points
    for lot in repository.open_lots(session, customer_id):
        if left == 0:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
    session.flush()


def expire_points(session: Session, *, now: datetime | None = None) -> int:
    """Post an expiry for every lot past its date with points left; the points expired."""
    moment = now or utcnow()
    customers = sorted({lot.customer_id for lot in repository.expired_lots(session, moment)})
    expired_total = 0
    for customer_id in customers:
        account = ledger.lock_customer(session, customer_id=customer_id, kinds=(POINTS,),
                                       actor_name="system")[POINTS]
        amount = 0
        for lot in repository.open_lots(session, customer_id):
            if lot.expires_at <= moment:
                amount += lot.remaining
                lot.remaining = 0
        if not amount:
            continue
        session.flush()
        ledger.post(session, kind=TransactionKind.POINTS_EXPIRE, customer_id=customer_id,
                    actor_name="system", at=moment,
                    legs=[Leg(account.id, POINTS, -amount),
                          Leg(ledger.merchant_account(session, AccountKind.POINTS_EXPIRED),
                              AccountKind.POINTS_EXPIRED, amount)])
        expired_total += amount
    return expired_total


def view(session: Session, *, actor: Principal, customer_id: int,
         limit: int = 100) -> PointsRead:
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    sums = ledger_repository.entry_sums_by_kind(session, customer.id, [POINTS.value])
    transactions = ledger_repository.customer_transactions(
        session, customer.id, [kind.value for kind in TRANSACTION_KINDS], limit=limit)
    legs = ledger_repository.legs_by_transaction(session, [row.id for row in transactions])
    entries = [
        PointsEntryRead(transaction_id=row.id, kind=row.kind, at=row.at,
                        points=sum(amount for kind, amount in legs.get(row.id, [])
                                   if kind == POINTS.value),
                        order_id=row.order_id, reference=row.reference)
        for row in transactions
        if any(kind == POINTS.value for kind, _ in legs.get(row.id, []))
    ]
    lots = [PointsLotRead(earned=lot.earned, remaining=lot.remaining, earned_at=lot.earned_at,
                          expires_at=lot.expires_at)
            for lot in repository.open_lots(session, customer.id)]
    return PointsRead(customer_id=customer.id, balance=sums.get(POINTS.value, 0),
                      entries=entries, lots=lots)
