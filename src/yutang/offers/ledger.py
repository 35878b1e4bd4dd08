"""The double-entry ledger under stored value and points (docs/adr/0005-ledger.md).

- A **transaction** is one business event; its **entries** (legs) are signed amounts on
  accounts, and they sum to zero in each unit (fen, points) — ``post`` refuses anything else.
- Sign: an entry > 0 credits its account. A customer's accounts (principal, bonus, points)
  are what the merchant owes, so their balance — the sum of their entries — is what the
  customer holds, and never negative. Merchant accounts (cash, bonus funding, sales…) carry
  the other legs; their sums are the mirror image.
- Entries are never updated or deleted: a correction is a new transaction.
- A customer account keeps a running ``balance``, moved by one conditional ``UPDATE … WHERE
  balance + :amount >= 0`` per leg: the database refuses a negative balance even if a caller
  forgot to lock. Callers that split an amount over accounts lock them first
  (``lock_customer``) so the split is decided on balances nobody else is moving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from yutang.kit.clock import utcnow
from yutang.kit.errors import DomainError
from yutang.offers import ledger_repository
from yutang.offers.errors import LedgerInvariantBroken
from yutang.offers.models import (
    CUSTOMER_ACCOUNT_KINDS,
    AccountKind,
    LedgerAccount,
    LedgerUnit,
    TransactionKind,
)

UNIT_OF = {
    AccountKind.POINTS: LedgerUnit.POINT,
    AccountKind.POINTS_ISSUED: LedgerUnit.POINT,
    AccountKind.POINTS_REDEEMED: LedgerUnit.POINT,
    AccountKind.POINTS_EXPIRED: LedgerUnit.POINT,
}


def unit_of(kind: AccountKind) -> LedgerUnit:
    return UNIT_OF.get(kind, LedgerUnit.FEN)


@dataclass(frozen=True)
class Leg:
    account_id: int
    kind: AccountKind
    amount: int


@dataclass(frozen=True)
class Posted:
    transaction_id: int
    at: datetime
    balances: dict[int, int]
    """The new running balance of each customer account the transaction moved."""


def merchant_account(session: Session, kind: AccountKind) -> int:
    """The merchant's account of this kind (opened on first use)."""
    assert kind not in CUSTOMER_ACCOUNT_KINDS
    key = f"merchant:{kind.value}"
    account = ledger_repository.account_by_key(session, key)
    if account is None:
        ledger_repository.open_account(session, account_key=key, kind=kind.value,
                                unit=unit_of(kind).value, customer_id=None)
        account = ledger_repository.account_by_key(session, key)
        assert account is not None
    return account.id


def lock_customer(
    session: Session, *, customer_id: int, kinds: Collection[AccountKind], actor_name: str
) -> dict[AccountKind, LedgerAccount]:
    """The customer's account of each kind, opened if missing and locked (in id order).

    After a merge a customer may hold several accounts of one kind: their balances are moved
    into the oldest by a ``consolidation`` transaction, so one account per kind is used."""
    for kind in kinds:
        ledger_repository.open_account(
            session, account_key=f"customer:{customer_id}:{kind.value}", kind=kind.value,
            unit=unit_of(kind).value, customer_id=customer_id)
    accounts = ledger_repository.lock_customer_accounts(session, customer_id,
                                                 [kind.value for kind in kinds])
    by_kind: dict[AccountKind, list[LedgerAccount]] = defaultdict(list)
    for account in accounts:
        by_kind[AccountKind(account.kind)].append(account)
    extra = [(kind, rows) for kind, rows in by_kind.items() if len(rows) > 1]
    if extra:
        legs: list[Leg] = []
        for kind, rows in extra:
            primary = rows[0]
            for other in rows[1:]:
                if other.balance:
                    legs += [Leg(other.id, kind, -other.balance),
                             Leg(primary.id, kind, other.balance)]
        if legs:
            post(session, kind=TransactionKind.CONSOLIDATION, legs=legs,
                 customer_id=customer_id, actor_name=actor_name,
                 memo="balances of merged customers brought together")
            for _, rows in extra:
                for row in rows:
                    session.refresh(row)
    return {kind: rows[0] for kind, rows in by_kind.items()}


def post(
    session: Session,
    *,
    kind: TransactionKind,
    legs: Sequence[Leg],
    customer_id: int | None,
    actor_name: str,
    order_id: int | None = None,
    plan_id: int | None = None,
    reference: str = "",
    memo: str = "",
    insufficient: type[DomainError] | None = None,
    at: datetime | None = None,
) -> Posted:
    """Record a transaction: its legs (zero legs dropped) must sum to zero per unit.

    A leg that would take a customer's balance below zero raises ``insufficient`` (a bug if
    none is given: callers check under the lock first)."""
    legs = [leg for leg in legs if leg.amount != 0]
    totals: dict[LedgerUnit, int] = defaultdict(int)
    for leg in legs:
        totals[unit_of(leg.kind)] += leg.amount
    if not legs or any(totals.values()):
        raise LedgerInvariantBroken(f"a {kind.value} must have legs summing to zero: {legs}")
    moment = at or utcnow()
    transaction_id = ledger_repository.insert_transaction(session, {
        "kind": kind.value, "at": moment, "customer_id": customer_id, "order_id": order_id,
        "plan_id": plan_id, "reference": reference, "actor_name": actor_name, "memo": memo,
    })
    ledger_repository.insert_entries(session, [
        {"transaction_id": transaction_id, "account_id": leg.account_id, "amount": leg.amount,
         "at": moment} for leg in legs
    ])
    balances: dict[int, int] = {}
    for leg in legs:
        if leg.kind not in CUSTOMER_ACCOUNT_KINDS:
            continue
        balance = ledger_repository.move_balance_if_covered(session, account_id=leg.account_id,
                                                     amount=leg.amount)
        if balance is None:
            if insufficient is None:
                raise LedgerInvariantBroken(f"account {leg.account_id} would go negative")
            raise insufficient(f"account {leg.account_id} does not cover {-leg.amount}")
        balances[leg.account_id] = balance
    return Posted(transaction_id=transaction_id, at=moment, balances=balances)
