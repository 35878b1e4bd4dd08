"""What offers does when the pool commits something: the fast path of two idempotent jobs.

- Events stored → welcome coupons for the contacts added through a channel code and the group
  joins among them (seed 000: 5 yuan back for adding the store's WeChat).
- Orders changed → coupons redeemed on orders now refunded or closed go back to their owner.

Each reaction runs right after the pool's commit, in its own transaction (see
:mod:`yutang.kit.signals`). If one is missed (a crash between the two commits) the periodic
``yutang offers sweep`` does the same work: welcome grants over a trailing window, releases
over every ended order; both are idempotent, so running twice grants and releases nothing
twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from yutang.kit.db import reading, run_in_transaction
from yutang.kit.signals import subscribe
from yutang.offers import coupons, repository
from yutang.pool.signals import EVENTS_STORED, ORDERS_CHANGED, StoredEvents


def welcome_new_contacts(factory: sessionmaker[Session], stored: StoredEvents) -> None:
    if not stored.holds_any(coupons.WELCOME_EVENT_TYPES):  # most batches: views, orders…
        return
    with reading(factory) as session:  # most merchants' batches: no welcome template at all
        if not repository.has_welcome_templates(session):
            return
    run_in_transaction(factory, lambda session: coupons.grant_welcome_offers_of_events(
        session, stored.event_ids))


def release_coupons_of_ended_orders(factory: sessionmaker[Session],
                                    order_ids: Sequence[int]) -> None:
    run_in_transaction(factory, lambda session: coupons.release_for_ended_orders(
        session, actor_name="system", order_ids=order_ids))


def install() -> None:
    """Subscribe the reactions (idempotent; the app and the CLI call it at start)."""
    subscribe(EVENTS_STORED, welcome_new_contacts)
    subscribe(ORDERS_CHANGED, release_coupons_of_ended_orders)
