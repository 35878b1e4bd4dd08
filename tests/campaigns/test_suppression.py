"""Must show: suppression is exact. A population with opted-out, never-consented, capped,
risky, unreachable, quiet-hour and holdout customers; exactly who is sent what, and no
opted-out customer receives anything — not at planning, not after opting out later, not
through retries, not through triggered campaigns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns.support import (
    approved_content,
    campaign,
    give_consent,
    new_customer,
    new_store,
    order,
    segment,
    tag,
)
from tests.support.factories import SYSTEM
from yutang.campaigns import service
from yutang.campaigns.holdout import is_held_out
from yutang.campaigns.models import Campaign, CampaignRun, Delivery
from yutang.campaigns.sender import SenderSettings, send_due
from yutang.connectors.wecom.client import WeComClient
from yutang.connectors.wecom.simulator import WeComSimulator
from yutang.kit.clock import set_now_source
from yutang.pool.models import Customer, Identity, IdentityKind

TUESDAY_NOON = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 Asia/Shanghai, a Tuesday
SETTINGS = SenderSettings(batch_size=7, backoff_seconds=600, max_attempts=3)


def _external(db: Session, customer: Customer) -> str | None:
    return db.scalar(select(Identity.value).where(
        Identity.customer_id == customer.id,
        Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value))


def _fates(db: Session, campaign_id: int) -> dict[int, tuple[str, str | None]]:
    return {row.customer_id: (row.status, row.reason) for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == campaign_id))}


def _earlier_delivery(db: Session, customer: Customer, at: datetime, status: str) -> None:
    other = db.scalars(select(Campaign).order_by(Campaign.id)).first()
    assert other is not None
    run = CampaignRun(campaign_id=other.id, occurrence=f"earlier-{customer.id}-{at.isoformat()}",
                      planned_for=at)
    db.add(run)
    db.flush()
    db.add(Delivery(campaign_id=other.id, run_id=run.id, customer_id=customer.id,
                    status=status, not_before=at, sent_at=at if status == "sent" else None))
    db.flush()


def _received(simulator: WeComSimulator) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for task in simulator.tasks:
        for target in task.external_userids:
            texts.setdefault(target, []).append(task.text)
    return texts


def _send_all(session_factory: sessionmaker[Session], client: WeComClient, at: datetime) -> None:
    for _ in range(20):
        report = send_due(session_factory, client=client, owner="test-sender",
                          settings=SETTINGS, clock=lambda: at)
        if report.claimed == 0:
            return


def test_a_one_off_campaign_sends_exactly_to_whom_the_rules_allow(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store = new_store(db)
    placeholder = campaign(db, segment_id=segment(db, {"field": "store", "op": "eq",
                                                       "value": store.id}).id,
                           send_at=TUESDAY_NOON - timedelta(days=30))
    eligible = [new_customer(db, store) for _ in range(40)]
    opted_out = [new_customer(db, store, consent=False) for _ in range(3)]
    never_consented = [new_customer(db, store, consent=None) for _ in range(2)]
    risky = new_customer(db, store)
    tag(db, risky, "risk:high", "risk")
    unreachable = new_customer(db, store, wecom=False)
    capped = new_customer(db, store)
    _earlier_delivery(db, capped, TUESDAY_NOON - timedelta(days=1), "sent")  # Monday
    _earlier_delivery(db, capped, TUESDAY_NOON + timedelta(days=3), "planned")  # Friday
    last_week = new_customer(db, store)  # two last week: not capped this week
    _earlier_delivery(db, last_week, TUESDAY_NOON - timedelta(days=2), "sent")  # Sunday
    _earlier_delivery(db, last_week, TUESDAY_NOON - timedelta(days=3), "sent")
    once_this_week = new_customer(db, store)
    _earlier_delivery(db, once_this_week, TUESDAY_NOON - timedelta(hours=20), "sent")
    failed_twice = new_customer(db, store)  # failed deliveries do not count
    _earlier_delivery(db, failed_twice, TUESDAY_NOON - timedelta(hours=2), "failed")
    _earlier_delivery(db, failed_twice, TUESDAY_NOON - timedelta(hours=3), "failed")
    eligible += [last_week, once_this_week, failed_twice]
    for customer in db.scalars(select(Customer).where(Customer.store_id == store.id)):
        external = _external(db, customer)
        if external:
            simulator.add_customer(external)
    set_now_source(lambda: TUESDAY_NOON - timedelta(hours=1))
    audience = segment(db, {"field": "store", "op": "eq", "value": store.id})
    sale = campaign(db, segment_id=audience.id, send_at=TUESDAY_NOON, holdout_share=0.25,
                    content_id=approved_content(db, "{name}，{store}周二特惠").id)
    assert placeholder.id < sale.id

    preview = service.preview_plan(db, actor=SYSTEM, campaign_id=sale.id)
    planned = service.plan_due(db, now=TUESDAY_NOON - timedelta(hours=1))
    assert service.plan_due(db, now=TUESDAY_NOON - timedelta(minutes=30)) == []  # once only
    summary = next(item for item in planned if item.run_id is not None
                   and db.get_one(CampaignRun, item.run_id).campaign_id == sale.id)

    held = {c.id for c in eligible if is_held_out(sale.id, c.id, 2500)}
    treated = {c.id for c in eligible} - held
    assert held and treated
    expected = ({c.id: ("planned", None) for c in eligible if c.id in treated}
                | {c.id: ("holdout", None) for c in eligible if c.id in held}
                | {c.id: ("suppressed", "opted_out") for c in opted_out}
                | {c.id: ("suppressed", "no_consent") for c in never_consented}
                | {risky.id: ("suppressed", "risk"), unreachable.id: ("suppressed", "unreachable"),
                   capped.id: ("suppressed", "customer_cap")})
    assert _fates(db, sale.id) == expected
    assert summary.suppressed_by == {"customer_cap": 1, "no_consent": 2, "opted_out": 3,
                                     "risk": 1, "unreachable": 1}
    assert (summary.planned, summary.holdout) == (len(treated), len(held))
    assert preview.model_dump(exclude={"run_id"}) == summary.model_dump(exclude={"run_id"})

    # After planning: one treated customer opts out; WeCom is busy for the first two calls.
    late_opt_out = next(c for c in eligible if c.id in treated)
    give_consent(db, late_opt_out, granted=False)
    simulator.inject_errors("externalcontact/add_msg_template", [45009, 45009])
    _send_all(session_factory, client, TUESDAY_NOON)
    retried = {row.customer_id for row in db.scalars(select(Delivery).where(
        Delivery.campaign_id == sale.id, Delivery.status == "planned"))}
    assert len(retried) == 2 and late_opt_out.id not in retried
    # Before the retry, one of the two retried customers opts out too.
    retry_opt_out = db.get_one(Customer, min(retried))
    give_consent(db, retry_opt_out, granted=False)
    _send_all(session_factory, client, TUESDAY_NOON + timedelta(minutes=5))  # backoff not over
    assert {row.customer_id for row in db.scalars(select(Delivery).where(
        Delivery.campaign_id == sale.id, Delivery.status == "planned"))} == retried
    _send_all(session_factory, client, TUESDAY_NOON + timedelta(minutes=2 * 60))

    received = _received(simulator)
    receivers = treated - {late_opt_out.id, retry_opt_out.id}
    assert set(received) == {_external(db, db.get_one(Customer, cid)) for cid in receivers}
    assert all(len(texts) == 1 for texts in received.values())  # nobody twice
    for customer_id in receivers:
        customer = db.get_one(Customer, customer_id)
        assert received[str(_external(db, customer))] == [f"{customer.name}，{store.name}周二特惠"]
    for customer in [*opted_out, *never_consented, late_opt_out, retry_opt_out]:
        assert _external(db, customer) not in received
    fates = _fates(db, sale.id)
    assert fates[late_opt_out.id] == ("suppressed", "opted_out")
    assert fates[retry_opt_out.id] == ("suppressed", "opted_out")
    assert {cid for cid, fate in fates.items() if fate == ("sent", None)} == receivers
    assert all(fates[cid] == ("holdout", None) for cid in held)


def test_triggered_campaigns_honour_quiet_hours_and_never_reach_the_opted_out(
        db: Session, session_factory: sessionmaker[Session],
        wecom: tuple[WeComSimulator, WeComClient]) -> None:
    simulator, client = wecom
    store = new_store(db)
    run_day = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)  # 2026-12-11 00:00 local
    daytime = [new_customer(db, store) for _ in range(4)]
    late_night = [new_customer(db, store) for _ in range(3)]
    opted_out = new_customer(db, store, consent=False)
    too_early = new_customer(db, store)  # first order only 2 days before
    first_at_ten = run_day - timedelta(days=3) + timedelta(hours=10)  # 10:00 local
    first_late = run_day - timedelta(days=3) + timedelta(hours=23, minutes=30)  # 23:30 local
    for customer in daytime:
        order(db, customer, at=first_at_ten)
    for customer in late_night:
        order(db, customer, at=first_late)
    order(db, opted_out, at=first_at_ten)
    order(db, too_early, at=first_at_ten + timedelta(days=1))
    for customer in [*daytime, *late_night, opted_out, too_early]:
        simulator.add_customer(str(_external(db, customer)))
    audience = segment(db, {"field": "store", "op": "eq", "value": store.id})
    deferring = campaign(db, segment_id=audience.id, schedule_kind="triggered",
                         trigger_kind="after_first_order", trigger_days=3, holdout_share=0.0)
    silent = campaign(db, segment_id=audience.id, schedule_kind="triggered",
                      trigger_kind="after_first_order", trigger_days=3, holdout_share=0.0,
                      quiet_hours_policy="suppress", customer_cap_per_week=10)

    service.plan_due(db, now=run_day + timedelta(hours=2))
    deferred = _fates(db, deferring.id)
    assert deferred == ({c.id: ("planned", None) for c in [*daytime, *late_night]}
                        | {opted_out.id: ("suppressed", "opted_out")})
    not_before = {row.customer_id: row.not_before for row in db.scalars(
        select(Delivery).where(Delivery.campaign_id == deferring.id))}
    for customer in daytime:
        assert not_before[customer.id] == first_at_ten + timedelta(days=3)
    next_morning = run_day + timedelta(days=1) + timedelta(hours=8)  # 12-12 08:00 local
    for customer in late_night:
        assert not_before[customer.id] == next_morning
    # The per-customer cap also sees the first campaign's planned deliveries: with the
    # default cap of 2 nothing is capped; the second campaign suppresses the quiet ones.
    assert _fates(db, silent.id) == ({c.id: ("planned", None) for c in daytime}
                                     | {c.id: ("suppressed", "quiet_hours") for c in late_night}
                                     | {opted_out.id: ("suppressed", "opted_out")})

    _send_all(session_factory, client, first_at_ten + timedelta(days=3, minutes=1))
    received = _received(simulator)
    assert set(received) == {_external(db, c) for c in daytime}
    assert all(len(texts) == 2 for texts in received.values())  # one from each campaign
    _send_all(session_factory, client, next_morning)
    received = _received(simulator)
    assert set(received) == {_external(db, c) for c in [*daytime, *late_night]}
    assert {target: len(texts) for target, texts in received.items()} == (
        {_external(db, c): 2 for c in daytime} | {_external(db, c): 1 for c in late_night})
    # The next days' runs send nobody again (once per customer), the opted-out never.
    for day in range(1, 4):
        service.plan_due(db, now=run_day + timedelta(days=day, hours=2))
        _send_all(session_factory, client, run_day + timedelta(days=day, hours=12))
    assert _external(db, opted_out) not in _received(simulator)
    assert {target: len(texts) for target, texts in _received(simulator).items()} == (
        {_external(db, c): 2 for c in daytime} | {_external(db, c): 1 for c in late_night}
        | {_external(db, too_early): 2})
