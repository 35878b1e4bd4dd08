"""Bargaining (砍价) use cases: start, help, read, expire.

The cuts are drawn when the bargain starts, from a seeded RNG in integer fen: every cut is at
least 1 fen and they sum exactly to ``list_price_fen - floor_price_fen``, front-loaded (the
first friends cut the most, as operators set these up). A help takes the next sequence number
with one conditional UPDATE (open, in time, ``helps_done < helps_needed``) and adds the cut of
that number; the unique ``(bargain, helper_key)`` key makes it one help per friend even when
the same friend taps twice at once. So the helps never pass ``helps_needed`` and the price
never goes below the floor.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import bargain_repository as repository
from yutang.fission.bargain_models import Bargain, BargainStatus
from yutang.fission.bargain_schemas import (
    BargainExpiryResult,
    BargainHelpRead,
    BargainRead,
    BargainStart,
    HelpResult,
)
from yutang.fission.errors import (
    AlreadyHelped,
    BargainCompleted,
    BargainExpired,
    BargainNotFound,
    CannotHelpOwnBargain,
    InvalidBargain,
)
from yutang.fission.group_buy_repository import product_id_by_sku
from yutang.kit.clock import utcnow
from yutang.offers.lookups import resolve_customer

WEIGHT_LOW, WEIGHT_HIGH = 500_000, 1_500_000


def draw_cuts(gap_fen: int, helps: int, seed: int) -> list[int]:
    """``helps`` cuts of at least 1 fen each that sum exactly to ``gap_fen``.

    Each cut gets 1 fen plus a share of the rest in proportion to a random weight divided by
    its position (front-loaded); shares are floored and the fen left over go to the largest
    remainders — all in integers, so the sum is exact.
    """
    if helps < 1 or gap_fen < helps:
        raise InvalidBargain("every help cuts at least 1 fen: the gap must be at least the "
                             "number of helps", gap_fen=gap_fen, helps=helps)
    generator = random.Random(seed)  # noqa: S311 - reproducible draws, not secrets
    weights = [generator.randint(WEIGHT_LOW, WEIGHT_HIGH) * helps // (position + 1)
               for position in range(helps)]
    spare, total = gap_fen - helps, sum(weights)
    shares = [spare * weight // total for weight in weights]
    remainders = [spare * weight % total for weight in weights]
    left = spare - sum(shares)
    for position in sorted(range(helps), key=lambda index: (-remainders[index], index))[:left]:
        shares[position] += 1
    return [1 + share for share in shares]


def start(session: Session, *, actor: Principal, data: BargainStart) -> Bargain:
    access_service.require(actor, Permission.OFFERS_OPERATE)
    starter = resolve_customer(session, actor=actor, customer_id=data.customer_id)
    seed = data.seed if data.seed is not None else secrets.randbits(62)
    now = utcnow()
    bargain = Bargain(
        customer_id=starter.id, starter_key=starter.id, store_id=starter.store_id,
        product_sku=data.product_sku, product_id=product_id_by_sku(session, data.product_sku),
        list_price_fen=data.list_price_fen, floor_price_fen=data.floor_price_fen,
        helps_needed=data.helps_needed, helps_done=0, cut_fen=0,
        cuts_fen=draw_cuts(data.list_price_fen - data.floor_price_fen, data.helps_needed, seed),
        seed=seed, status=BargainStatus.OPEN.value, started_at=now,
        expires_at=now + timedelta(minutes=data.time_limit_minutes), created_by=actor.name)
    session.add(bargain)
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="bargain.start", entity_type="bargain",
        entity_id=bargain.id, store_id=bargain.store_id,
        details={"customer_id": starter.id, "sku": bargain.product_sku,
                 "list_price_fen": bargain.list_price_fen,
                 "floor_price_fen": bargain.floor_price_fen,
                 "helps_needed": bargain.helps_needed})
    return bargain


def get_bargain(session: Session, *, bargain_id: int) -> Bargain:
    bargain = repository.bargain(session, bargain_id)
    if bargain is None:
        raise BargainNotFound(f"no bargain {bargain_id}", bargain_id=bargain_id)
    return bargain


def help_bargain(session: Session, *, actor: Principal, bargain_id: int,
                 customer_id: int) -> HelpResult:
    """A friend's help: the next pre-drawn cut. 409 ``already_helped``, ``bargain_expired``,
    ``bargain_completed``, ``cannot_help_own_bargain``."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    bargain = get_bargain(session, bargain_id=bargain_id)
    now = utcnow()
    _refuse_unless_open(bargain, now)
    helper = resolve_customer(session, actor=actor, customer_id=customer_id)
    if helper.id in (bargain.customer_id, bargain.starter_key):
        raise CannotHelpOwnBargain("the starter cannot help their own bargain",
                                   bargain_id=bargain_id)
    if repository.has_helped(session, bargain.id, helper.id):
        raise AlreadyHelped(f"the customer helped bargain {bargain_id} already",
                            bargain_id=bargain_id, customer_id=helper.id)
    sequence = repository.take_help(session, bargain.id, now)
    if sequence is None:
        _refuse_unless_open(get_bargain(session, bargain_id=bargain_id), now)
        raise BargainCompleted(f"the bargain {bargain_id} is at its floor price",
                               bargain_id=bargain_id)
    cut = int(bargain.cuts_fen[sequence - 1])
    if repository.insert_help(session, {
            "bargain_id": bargain.id, "customer_id": helper.id, "helper_key": helper.id,
            "sequence": sequence, "cut_fen": cut, "helped_at": now}) is None:
        raise AlreadyHelped(f"the customer helped bargain {bargain_id} already",
                            bargain_id=bargain_id, customer_id=helper.id)
    completes = sequence == bargain.helps_needed
    cut_total = repository.add_cut(session, bargain.id, cut, completes=completes, now=now)
    return HelpResult(
        bargain_id=bargain.id, customer_id=helper.id, sequence=sequence, cut_fen=cut,
        current_price_fen=bargain.list_price_fen - cut_total, helps_done=sequence,
        helps_needed=bargain.helps_needed,
        status=(BargainStatus.COMPLETED if completes else BargainStatus.OPEN).value,
        helped_at=now)


def _refuse_unless_open(bargain: Bargain, now: datetime) -> None:
    if bargain.status == BargainStatus.COMPLETED.value or \
            bargain.helps_done >= bargain.helps_needed:
        raise BargainCompleted(f"the bargain {bargain.id} is at its floor price",
                               bargain_id=bargain.id)
    if bargain.status == BargainStatus.EXPIRED.value or bargain.expires_at <= now:
        raise BargainExpired(f"the bargain {bargain.id} has expired", bargain_id=bargain.id)


def present(session: Session, bargain: Bargain) -> BargainRead:
    helps = [BargainHelpRead(customer_id=row.customer_id, sequence=row.sequence,
                             cut_fen=row.cut_fen, helped_at=row.helped_at)
             for row in repository.helps_of(session, bargain.id)]
    return BargainRead(
        id=bargain.id, customer_id=bargain.customer_id, product_sku=bargain.product_sku,
        list_price_fen=bargain.list_price_fen, floor_price_fen=bargain.floor_price_fen,
        current_price_fen=bargain.list_price_fen - bargain.cut_fen, cut_fen=bargain.cut_fen,
        helps_needed=bargain.helps_needed, helps_done=bargain.helps_done,
        status=_status_at(bargain, utcnow()), started_at=bargain.started_at,
        expires_at=bargain.expires_at, completed_at=bargain.completed_at, helps=helps)


def _status_at(bargain: Bargain, now: datetime) -> str:
    """An open bargain past its time reads as expired before the expiry job marks it."""
    if bargain.status == BargainStatus.OPEN.value and bargain.expires_at <= now:
        return BargainStatus.EXPIRED.value
    return bargain.status


def bargain_read(session: Session, *, actor: Principal, bargain_id: int) -> BargainRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    bargain = get_bargain(session, bargain_id=bargain_id)
    if actor.is_store_scoped and bargain.store_id != actor.store_id:
        raise BargainNotFound(f"no bargain {bargain_id}", bargain_id=bargain_id)
    return present(session, bargain)


def list_bargains(session: Session, *, actor: Principal, status: BargainStatus | None = None,
                  limit: int = 50, offset: int = 0) -> list[BargainRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    rows = repository.bargains(session,
                               store_id=actor.store_id if actor.is_store_scoped else None,
                               status=status.value if status else None, limit=limit,
                               offset=offset)
    return [present(session, row) for row in rows]


def expire_bargains(session: Session, *, now: datetime | None = None) -> BargainExpiryResult:
    """Mark open bargains whose time ran out as expired (idempotent)."""
    return BargainExpiryResult(bargains_expired=repository.expire_overdue(session,
                                                                          now or utcnow()))
