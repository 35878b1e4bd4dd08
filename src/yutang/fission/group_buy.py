"""Group-buy (拼团) use cases: deals, opening and joining teams, expiry with refunds.

A team succeeds exactly when it fills and fails when its time runs out. Joining takes a seat
with one conditional UPDATE (``filled < team_size``, still open, time left), then a unit of
the deal's stock with another (``sold < stock``); the member row's unique ``(team, seat)`` and
``(team, member_key)`` keys back both. Everything read before those statements only decides
which error to report. Each member pays the bait price at once: their bait order is a pool
order (source ``group_buy``). When a team fails, every member's order is refunded once: the
refund row is unique per member, and the order moves to refunded only by the call that
inserted it — a second expiry run (or two at once) refunds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yutang.access import service as access_service
from yutang.access.roles import Permission, Principal
from yutang.fission import group_buy_repository as repository
from yutang.fission.errors import (
    AlreadyInTeam,
    DealClosed,
    DealSoldOut,
    GroupBuyDealNotFound,
    GroupBuyTeamNotFound,
    InvalidGroupBuyDeal,
    TeamClosed,
    TeamFull,
)
from yutang.fission.group_buy_models import (
    DealStatus,
    GroupBuyDeal,
    GroupBuyTeam,
    TeamEventKind,
    TeamStatus,
)
from yutang.fission.group_buy_schemas import (
    ExpiryResult,
    GroupBuyDealCreate,
    GroupBuyDealRead,
    TeamMemberRead,
    TeamRead,
)
from yutang.kit.clock import utcnow
from yutang.kit.signals import emit_after_commit
from yutang.offers.lookups import resolve_customer
from yutang.org import service as org_service
from yutang.pool.models import Customer
from yutang.pool.signals import ORDERS_CHANGED

EXPIRY_BATCH = 500


# --- deals -------------------------------------------------------------------------------------


def create_deal(session: Session, *, actor: Principal, data: GroupBuyDealCreate) -> GroupBuyDeal:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    store_id = None
    if data.store is not None:
        store_id = org_service.get_store_by_code(session, code=data.store).id
    if data.full_order_threshold_fen is not None and \
            data.full_order_threshold_fen <= data.bait_price_fen:
        raise InvalidGroupBuyDeal("full_order_threshold_fen must be above the bait price",
                                  full_order_threshold_fen=data.full_order_threshold_fen)
    deal = GroupBuyDeal(
        name=data.name or data.product_sku, product_sku=data.product_sku,
        product_id=repository.product_id_by_sku(session, data.product_sku),
        bait_price_fen=data.bait_price_fen, list_price_fen=data.list_price_fen,
        full_order_threshold_fen=data.full_order_threshold_fen, team_size=data.team_size,
        time_limit_minutes=data.time_limit_minutes, stock=data.stock, sold=0,
        status=DealStatus.ACTIVE.value, store_id=store_id, created_by=actor.name,
        created_at=utcnow(),
    )
    session.add(deal)
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="group_buy_deal.create", entity_type="group_buy_deal",
        entity_id=deal.id, store_id=store_id,
        details={"sku": deal.product_sku, "bait_price_fen": deal.bait_price_fen,
                 "list_price_fen": deal.list_price_fen, "team_size": deal.team_size,
                 "stock": deal.stock})
    return deal


def get_deal(session: Session, *, deal_id: int) -> GroupBuyDeal:
    deal = repository.deal(session, deal_id)
    if deal is None:
        raise GroupBuyDealNotFound(f"no group-buy deal {deal_id}", deal_id=deal_id)
    return deal


def close_deal(session: Session, *, actor: Principal, deal_id: int) -> GroupBuyDeal:
    access_service.require(actor, Permission.OFFERS_MANAGE)
    deal = get_deal(session, deal_id=deal_id)
    deal.status = DealStatus.CLOSED.value
    session.flush()
    access_service.record_audit(
        session, actor=actor, action="group_buy_deal.close", entity_type="group_buy_deal",
        entity_id=deal.id, store_id=deal.store_id)
    return deal


def present_deal(deal: GroupBuyDeal) -> GroupBuyDealRead:
    return GroupBuyDealRead(
        id=deal.id, name=deal.name, product_sku=deal.product_sku,
        bait_price_fen=deal.bait_price_fen, list_price_fen=deal.list_price_fen,
        full_order_threshold_fen=deal.full_order_threshold_fen, team_size=deal.team_size,
        time_limit_minutes=deal.time_limit_minutes, stock=deal.stock, sold=deal.sold,
        remaining=deal.stock - deal.sold, status=deal.status, store_id=deal.store_id,
        created_at=deal.created_at)


def deal_read(session: Session, *, actor: Principal, deal_id: int) -> GroupBuyDealRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    deal = get_deal(session, deal_id=deal_id)
    if actor.is_store_scoped and deal.store_id not in (None, actor.store_id):
        raise GroupBuyDealNotFound(f"no group-buy deal {deal_id}", deal_id=deal_id)
    return present_deal(deal)


def list_deals(session: Session, *, actor: Principal) -> list[GroupBuyDeal]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    store_id = actor.store_id if actor.is_store_scoped else None
    return list(repository.deals(session, store_id=store_id))


# --- teams -------------------------------------------------------------------------------------


def open_team(session: Session, *, actor: Principal, deal_id: int, leader_customer_id: int,
              now: datetime | None = None) -> GroupBuyTeam:
    """The leader opens a team and pays the bait price (seat 1); ``now`` for imports and the
    demo (default: the clock)."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    deal = get_deal(session, deal_id=deal_id)
    if deal.status != DealStatus.ACTIVE.value:
        raise DealClosed(f"the group-buy deal {deal_id} takes no new teams", deal_id=deal_id)
    if deal.sold >= deal.stock:
        raise DealSoldOut(f"the group-buy deal {deal_id} is sold out", deal_id=deal_id)
    leader = resolve_customer(session, actor=actor, customer_id=leader_customer_id)
    now = now or utcnow()
    team = GroupBuyTeam(
        deal_id=deal.id, leader_customer_id=leader.id,
        store_id=leader.store_id if leader.store_id is not None else deal.store_id,
        team_size=deal.team_size, filled=1, status=TeamStatus.OPEN.value, opened_at=now,
        expires_at=now + timedelta(minutes=deal.time_limit_minutes))
    session.add(team)
    session.flush()
    repository.add_team_events(session, [_event(team.id, TeamEventKind.OPENED, now, leader.id,
                                                actor)])
    _seat(session, deal=deal, team=team, customer=leader, seat=1, now=now, actor=actor)
    return team


def join_team(session: Session, *, actor: Principal, team_id: int, customer_id: int,
              now: datetime | None = None) -> GroupBuyTeam:
    """Take a seat and pay the bait price: 409 ``team_full`` when every seat is taken,
    ``team_closed`` when the team succeeded, failed or ran out of time."""
    access_service.require(actor, Permission.OFFERS_OPERATE)
    team = get_team(session, team_id=team_id)
    now = now or utcnow()
    _refuse_unless_joinable(team, now)
    customer = resolve_customer(session, actor=actor, customer_id=customer_id)
    if repository.member_exists(session, team.id, customer.id):
        raise AlreadyInTeam(f"the customer already holds a seat of team {team_id}",
                            team_id=team_id, customer_id=customer.id)
    seat = repository.take_seat(session, team.id, now)
    if seat is None:
        _refuse_unless_joinable(get_team(session, team_id=team_id), now)
        raise TeamFull(f"every seat of team {team_id} is taken", team_id=team_id)
    deal = get_deal(session, deal_id=team.deal_id)
    _seat(session, deal=deal, team=team, customer=customer, seat=seat, now=now, actor=actor)
    if seat == team.team_size and repository.succeed_if_full(session, team.id, now):
        repository.add_team_events(session, [_event(team.id, TeamEventKind.SUCCEEDED, now,
                                                    None, actor)])
    return get_team(session, team_id=team_id)


def _refuse_unless_joinable(team: GroupBuyTeam, now: datetime) -> None:
    """``team_full`` for a filled team (succeeded or filling), ``team_closed`` for one that
    failed or ran out of time with seats left."""
    if team.filled >= team.team_size:
        raise TeamFull(f"every seat of team {team.id} is taken", team_id=team.id)
    if team.status != TeamStatus.OPEN.value or team.expires_at <= now:
        raise TeamClosed(f"the team {team.id} takes no more members", team_id=team.id,
                         status=team.status)


def _seat(session: Session, *, deal: GroupBuyDeal, team: GroupBuyTeam, customer: Customer,
          seat: int, now: datetime, actor: Principal) -> None:
    """Sell the seat from the deal's stock, make the bait order, record the member."""
    if repository.sell_one_seat(session, deal.id) is None:
        raise DealSoldOut(f"the group-buy deal {deal.id} is sold out", deal_id=deal.id)
    order = repository.add_bait_order(
        session, external_order_id=f"team-{team.id}-seat-{seat}", customer_id=customer.id,
        store_id=team.store_id, sku=deal.product_sku, product_id=deal.product_id,
        price_fen=deal.bait_price_fen, at=now)
    member_id = repository.insert_member(session, {
        "team_id": team.id, "customer_id": customer.id, "member_key": customer.id,
        "seat": seat, "order_id": order.id, "joined_at": now})
    if member_id is None:  # the same customer joined at the same moment: undo it all
        raise AlreadyInTeam(f"the customer already holds a seat of team {team.id}",
                            team_id=team.id, customer_id=customer.id)
    repository.add_team_events(session, [_event(team.id, TeamEventKind.JOINED, now, customer.id,
                                                actor, seat=seat, order_id=order.id)])
    emit_after_commit(session, ORDERS_CHANGED, [order.id])


def _event(team_id: int, kind: TeamEventKind, at: datetime, customer_id: int | None,
           actor: Principal | None, **details: int) -> dict[str, object]:
    return {"team_id": team_id, "kind": kind.value, "at": at, "customer_id": customer_id,
            "actor_name": actor.name if actor else "", "details": dict(details)}


def get_team(session: Session, *, team_id: int) -> GroupBuyTeam:
    team = repository.team(session, team_id)
    if team is None:
        raise GroupBuyTeamNotFound(f"no group-buy team {team_id}", team_id=team_id)
    return team


def team_read(session: Session, *, actor: Principal, team_id: int) -> TeamRead:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    team = get_team(session, team_id=team_id)
    if actor.is_store_scoped and team.store_id != actor.store_id:
        raise GroupBuyTeamNotFound(f"no group-buy team {team_id}", team_id=team_id)
    return present_teams(session, [team])[0]


def present_teams(session: Session, teams: Sequence[GroupBuyTeam]) -> list[TeamRead]:
    members: dict[int, list[TeamMemberRead]] = {}
    for member, refunded_at in repository.members_of(session, [team.id for team in teams]):
        members.setdefault(member.team_id, []).append(TeamMemberRead(
            customer_id=member.customer_id, joined_at=member.joined_at,
            order_id=member.order_id, seat=member.seat, refunded_at=refunded_at))
    return [TeamRead(id=team.id, deal_id=team.deal_id, status=team.status,
                     expires_at=team.expires_at, members=members.get(team.id, []),
                     leader_customer_id=team.leader_customer_id, team_size=team.team_size,
                     opened_at=team.opened_at, succeeded_at=team.succeeded_at,
                     failed_at=team.failed_at) for team in teams]


def teams_of_deal(session: Session, *, actor: Principal, deal_id: int,
                  status: TeamStatus | None = None, limit: int = 200,
                  offset: int = 0) -> list[TeamRead]:
    access_service.require(actor, Permission.CUSTOMERS_READ)
    get_deal(session, deal_id=deal_id)
    teams = repository.teams_of_deal(session, deal_id, status=status.value if status else None,
                                     limit=limit, offset=offset)
    if actor.is_store_scoped:
        teams = [team for team in teams if team.store_id == actor.store_id]
    return present_teams(session, teams)


# --- expiry ------------------------------------------------------------------------------------


def expire_teams(session: Session, *, now: datetime | None = None,
                 actor_name: str = "group-buy expiry") -> ExpiryResult:
    """Fail every open team whose time ran out and refund each member of every failed team
    whose refund is not recorded yet (idempotent: a second run refunds nothing)."""
    now = now or utcnow()
    failed = 0
    while True:
        overdue = repository.overdue_team_ids(session, now, EXPIRY_BATCH)
        for team_id in overdue:
            if repository.fail_if_overdue(session, team_id, now):
                failed += 1
                repository.add_team_events(session, [{
                    "team_id": team_id, "kind": TeamEventKind.FAILED.value, "at": now,
                    "customer_id": None, "actor_name": actor_name, "details": {}}])
        if len(overdue) < EXPIRY_BATCH:
            break
    refunded, refunded_fen = _refund_failed_members(session, now, actor_name)
    return ExpiryResult(teams_failed=failed, members_refunded=refunded,
                        refunded_fen=refunded_fen)


def _refund_failed_members(session: Session, now: datetime,
                           actor_name: str) -> tuple[int, int]:
    refunded = refunded_fen = 0
    orders: list[int] = []
    while True:
        pending = repository.unrefunded_members_of_failed_teams(session, EXPIRY_BATCH)
        for member_id, team_id, deal_id, order_id, paid_fen in pending:
            refund_id = repository.insert_refund(session, {
                "member_id": member_id, "team_id": team_id, "order_id": order_id,
                "amount_fen": paid_fen, "refunded_at": now})
            if refund_id is None:  # another run recorded it first
                continue
            repository.refund_order(session, order_id, now)
            repository.release_seats(session, deal_id, 1)
            repository.add_team_events(session, [{
                "team_id": team_id, "kind": TeamEventKind.REFUNDED.value, "at": now,
                "customer_id": None, "actor_name": actor_name,
                "details": {"order_id": order_id, "amount_fen": paid_fen}}])
            refunded += 1
            refunded_fen += paid_fen
            orders.append(order_id)
        if len(pending) < EXPIRY_BATCH:
            break
    if orders:
        emit_after_commit(session, ORDERS_CHANGED, orders)
    return refunded, refunded_fen
