"""What fission does when the pool commits orders: a referred customer's first order moves
their referral edge to ``first_order`` (the fast path of ``yutang fission sweep``, which
reads every order after a durable cursor and catches up on anything missed here)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from yutang.fission import referrals
from yutang.kit.db import run_in_transaction
from yutang.kit.signals import subscribe
from yutang.pool.signals import ORDERS_CHANGED


def settle_first_orders(factory: sessionmaker[Session], order_ids: Sequence[int]) -> None:
    run_in_transaction(factory, lambda session: referrals.settle_orders(session, order_ids))


def install() -> None:
    """Subscribe the reactions (idempotent; the app and the CLI call it at start)."""
    subscribe(ORDERS_CHANGED, settle_first_orders)
