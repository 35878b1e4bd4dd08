"""Every query of the offers ledger: accounts, transactions, entries, balances."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from yutang.kit.sql import in_list, insert_into, table_of
from yutang.offers.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    TransactionKind,
)


def open_account(session: Session, *, account_key: str, kind: str, unit: str,
                 customer_id: int | None) -> None:
    """Create the account unless it exists (a concurrent opening too)."""
    statement = insert_into(session, LedgerAccount).values(
        account_key=account_key, kind=kind, unit=unit, customer_id=customer_id,
        balance=0 if customer_id is not None else None,
    ).on_conflict_do_nothing()
    session.execute(statement)


def account_by_key(session: Session, account_key: str) -> LedgerAccount | None:
    return session.scalars(
        select(LedgerAccount).where(LedgerAccount.account_key == account_key)
    ).one_or_none()


def lock_customer_accounts(session: Session, customer_id: int,
                           kinds: Collection[str]) -> Sequence[LedgerAccount]:
    """The customer's accounts of these kinds, locked in id order (PostgreSQL; a SQLite
    writer holds the database's write lock already), read afresh."""
    return session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.customer_id == customer_id, LedgerAccount.kind.in_(list(kinds)))
        .order_by(LedgerAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def customer_accounts(session: Session, customer_id: int,
                      kinds: Collection[str]) -> Sequence[LedgerAccount]:
    return session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.customer_id == customer_id, LedgerAccount.kind.in_(list(kinds)))
        .order_by(LedgerAccount.id)
    ).all()


def insert_transaction(session: Session, row: dict[str, Any]) -> int:
    table = table_of(LedgerTransaction)
    found = session.execute(insert_into(session, LedgerTransaction).values(**row)
                            .returning(table.c.id)).scalar_one()
    return int(found)


def insert_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert_into(session, LedgerEntry), list(rows))


def move_balance_if_covered(session: Session, *, account_id: int, amount: int) -> int | None:
    """``balance = balance + amount`` unless a customer's balance would go below zero; the
    new balance, or None."""
    statement = (
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id,
               LedgerAccount.balance.is_not(None),
               LedgerAccount.balance + amount >= 0)
        .values(balance=LedgerAccount.balance + amount)
        .returning(LedgerAccount.balance)
    )
    found = session.execute(statement, execution_options={"synchronize_session": False})
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


def entry_sums_by_kind(session: Session, customer_id: int,
                       kinds: Collection[str]) -> dict[str, int]:
    """Account kind → the sum of the customer's entries on accounts of that kind."""
    rows = session.execute(
        select(LedgerAccount.kind, func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.customer_id == customer_id, LedgerAccount.kind.in_(list(kinds)))
        .group_by(LedgerAccount.kind)
    )
    return {str(kind): int(total) for kind, total in rows}


def customer_transactions(
    session: Session, customer_id: int, kinds: Collection[str], limit: int = 100
) -> Sequence[LedgerTransaction]:
    return session.scalars(
        select(LedgerTransaction)
        .where(LedgerTransaction.customer_id == customer_id,
               LedgerTransaction.kind.in_(list(kinds)))
        .order_by(LedgerTransaction.id.desc()).limit(limit)
    ).all()


def legs_by_transaction(
    session: Session, transaction_ids: Collection[int]
) -> dict[int, list[tuple[str, int]]]:
    """transaction id → [(account kind, amount)]."""
    if not transaction_ids:
        return {}
    rows = session.execute(
        select(LedgerEntry.transaction_id, LedgerAccount.kind, LedgerEntry.amount)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(in_list(LedgerEntry.transaction_id, transaction_ids))
        .order_by(LedgerEntry.id)
    )
    legs: dict[int, list[tuple[str, int]]] = {}
    for transaction_id, kind, amount in rows:
        legs.setdefault(int(transaction_id), []).append((str(kind), int(amount)))
    return legs


def order_movements(session: Session, *, customer_id: int, order_id: int | None,
                    reference: str) -> dict[tuple[str, str], int]:
    """(transaction kind, account kind) → sum, for the customer's stored-value movements on
    one order (by yutang's order id, or by the merchant's reference when unknown)."""
    condition = (LedgerTransaction.order_id == order_id if order_id is not None
                 else and_(LedgerTransaction.order_id.is_(None),
                           LedgerTransaction.reference == reference))
    rows = session.execute(
        select(LedgerTransaction.kind, LedgerAccount.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerTransaction.customer_id == customer_id, condition,
               LedgerTransaction.kind.in_([TransactionKind.CHARGE.value,
                                           TransactionKind.CHARGE_REFUND.value]),
               LedgerAccount.customer_id.is_not(None))
        .group_by(LedgerTransaction.kind, LedgerAccount.kind)
    )
    return {(str(kind), str(account)): int(total) for kind, account, total in rows}


def account_entry_sums(session: Session, *, before: datetime | None = None,
                       since: datetime | None = None) -> dict[int, int]:
    """account id → sum of its entries (in a time window, if given)."""
    statement = select(LedgerEntry.account_id, func.sum(LedgerEntry.amount)).group_by(
        LedgerEntry.account_id)
    if before is not None:
        statement = statement.where(LedgerEntry.at < before)
    if since is not None:
        statement = statement.where(LedgerEntry.at >= since)
    return {int(account): int(total) for account, total in session.execute(statement)}


def all_accounts(session: Session) -> Sequence[LedgerAccount]:
    return session.scalars(select(LedgerAccount).order_by(LedgerAccount.id)).all()


def movements_by_kind(session: Session, *, since: datetime,
                      before: datetime) -> dict[tuple[str, str], int]:
    """(transaction kind, account kind) → sum of entries in the window."""
    rows = session.execute(
        select(LedgerTransaction.kind, LedgerAccount.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.at >= since, LedgerEntry.at < before)
        .group_by(LedgerTransaction.kind, LedgerAccount.kind)
    )
    return {(str(kind), str(account)): int(total) for kind, account, total in rows}


def unbalanced_transactions(session: Session, *, before: datetime | None = None) -> list[int]:
    """Transactions whose legs do not sum to zero in some unit (always none)."""
    statement = (
        select(LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .group_by(LedgerEntry.transaction_id, LedgerAccount.unit)
        .having(func.sum(LedgerEntry.amount) != 0)
    )
    if before is not None:
        statement = statement.where(LedgerEntry.at < before)
    return sorted({int(value) for value in session.scalars(statement)})


def stored_value_accounts(session: Session, limit: int = 200,
                          offset: int = 0) -> Sequence[tuple[int, int, int]]:
    """(customer id, principal, bonus) by customer, largest balances first."""
    principal = func.sum(case((LedgerAccount.kind == "stored_value_principal",
                               LedgerAccount.balance), else_=0))
    bonus = func.sum(case((LedgerAccount.kind == "stored_value_bonus",
                           LedgerAccount.balance), else_=0))
    rows = session.execute(
        select(LedgerAccount.customer_id, principal, bonus)
        .where(LedgerAccount.customer_id.is_not(None),
               LedgerAccount.kind.in_(["stored_value_principal", "stored_value_bonus"]))
        .group_by(LedgerAccount.customer_id)
        .order_by((principal + bonus).desc(), LedgerAccount.customer_id)
        .limit(limit).offset(offset)
    )
    return [(int(customer), int(p or 0), int(b or 0)) for customer, p, b in rows]


def transaction_count(session: Session, *, kind: str | None = None) -> int:
    statement = select(func.count()).select_from(LedgerTransaction)
    if kind is not None:
        statement = statement.where(LedgerTransaction.kind == kind)
    return int(session.scalar(statement) or 0)


