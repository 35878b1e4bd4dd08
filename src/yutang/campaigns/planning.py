"""Planning a run: ONE ``INSERT … SELECT`` writes every recipient's delivery with its fate.

The rules are SQL, evaluated per recipient in the database, in this order (the first that
applies is the recorded reason):

1. ``opted_out``: the newest consent decision for the channel is a withdrawal;
2. ``no_consent``: no decision at all (consent is opt-in);
3. ``risk``: the customer's risk level is above the campaign's ``max_risk_level``;
4. ``unreachable``: no WeCom external user id (1:1) or no WeCom chat (group);
5. ``quiet_hours``: the send time falls in 22:00–08:00 Asia/Shanghai and the campaign's
   policy is ``suppress`` (with ``defer`` the send moves to 08:00 and this never applies);
6. ``customer_cap`` / ``group_cap``: the recipient already has ``cap`` deliveries sent or on
   their way (planned, claimed, sending) in the ISO week (Monday 00:00 local) of the send;
7. otherwise ``holdout`` if the stable hash puts the recipient in the holdout share, else
   ``planned``.

The holdout is drawn among the recipients who would have received the message, so treated
and holdout are comparable. A run is unique per (campaign, occurrence): planning twice plans
once.

Each rule's input is a join computed once for the run, never a sub-query per rule and row:
both databases inline a CTE used once, so a correlated sub-query in a CTE column runs again
wherever the column is read (the reason is read twice). See docs/domains/campaigns.md, "How
it stays fast", and ``bench/bench_campaign_planning.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yutang.campaigns import sql_time
from yutang.campaigns.holdout import held_out_sql
from yutang.campaigns.models import (
    ACTIVE_DELIVERY_STATUSES,
    AudienceKind,
    Campaign,
    CampaignChannel,
    CampaignRun,
    Delivery,
    DeliveryStatus,
    QuietHoursPolicy,
    ScheduleKind,
    Segment,
    SuppressionReason,
    TriggerKind,
)
from yutang.campaigns.schedule import Occurrence, local_at
from yutang.campaigns.schemas import PlanSummary
from yutang.campaigns.segment_rules import PAID_STATUSES, RISK_LEVELS, compile_rule, risk_tag_name
from yutang.groups.models import OPEN_STATUSES, Group, GroupMember, MemberStatus
from yutang.kit.clock import local_day_start_utc, to_local
from yutang.kit.sql import in_list, table_of
from yutang.pool.models import Consent, Customer, CustomerTag, Identity, IdentityKind, Order, Tag

CONSENT_CHANNEL = {CampaignChannel.WECOM_SINGLE: "wecom",
                   CampaignChannel.WECOM_GROUP: "wechat_group"}
TRIGGER_GRACE = timedelta(days=1)
"""A triggered moment up to a day before the run's day is still honoured (a missed day)."""
BIRTHDAY_REPEAT = timedelta(days=300)


@dataclass(frozen=True)
class _Statement:
    select: Select[Any]
    columns: list[str]


def _epoch(moment: datetime, name: str) -> Any:
    return bindparam(name, int(moment.timestamp()), type_=BigInteger)


def _is_quiet(moment: datetime) -> bool:
    hour = to_local(moment).hour
    return hour >= sql_time.QUIET_START_HOUR or hour < sql_time.QUIET_END_HOUR


def _after_quiet_hours(moment: datetime) -> datetime:
    """``sql_time.after_quiet_hours`` for one instant (a run's send time)."""
    if not _is_quiet(moment):
        return moment
    local = to_local(moment)
    day = local.date() + timedelta(days=1 if local.hour >= sql_time.QUIET_START_HOUR else 0)
    return local_at(day, f"{sql_time.QUIET_END_HOUR:02d}:00")


def _week_of(moment: datetime) -> datetime:
    """Monday 00:00 (local) of the ISO week of ``moment``, in UTC."""
    day = to_local(moment).date()
    return local_day_start_utc(day - timedelta(days=day.weekday()))


def _risky_levels(maximum: str) -> list[str]:
    return list(RISK_LEVELS[RISK_LEVELS.index(maximum) + 1:])


def _birthday_ids(session: Session, audience: Any, day: str) -> list[int]:
    """Customers of the audience whose birthday (encrypted) falls on ``day`` (MM-DD): the
    one rule decrypted in Python, in chunks, because the birthday is personal data."""
    found: list[int] = []
    statement = select(Customer.id, Customer.birthday).where(
        Customer.merged_into_id.is_(None), Customer.birthday.is_not(None), audience)
    for customer_id, birthday in session.execute(statement.execution_options(yield_per=5000)):
        if birthday and birthday.strip()[-5:] == day:
            found.append(int(customer_id))
    return found


def _customer_candidates(session: Session, campaign: Campaign, occurrence: Occurrence,
                         now: datetime, dialect: str) -> Any:
    """(customer_id, send_epoch) of the audience for this occurrence."""
    if campaign.audience_kind == AudienceKind.SEGMENT.value:
        segment = session.get_one(Segment, campaign.segment_id)
        audience = compile_rule(segment.rule, now=now)
    else:
        audience = exists().where(GroupMember.customer_id == Customer.id,
                                  GroupMember.status == MemberStatus.MEMBER.value,
                                  in_list(GroupMember.group_id, campaign.group_ids))
    live = [Customer.merged_into_id.is_(None), audience]
    if campaign.schedule_kind != ScheduleKind.TRIGGERED.value:
        return select(Customer.id.label("customer_id"),
                      _epoch(occurrence.at, "run_epoch").label("send_epoch")).where(*live)
    trigger = TriggerKind(campaign.trigger_kind or "")
    delivered = select(Delivery.id).where(Delivery.campaign_id == campaign.id,
                                          Delivery.customer_id == Customer.id)
    day_start = occurrence.at
    if trigger is TriggerKind.BIRTHDAY:
        day = to_local(day_start).strftime("%m-%d")
        ids = _birthday_ids(session, audience, day)
        birthday_send = local_at(to_local(day_start).date(), campaign.time_of_day)
        recent = delivered.where(Delivery.not_before >= day_start - BIRTHDAY_REPEAT)
        return select(Customer.id.label("customer_id"),
                      _epoch(birthday_send, "run_epoch").label("send_epoch")).where(
            *live, in_list(Customer.id, ids), ~recent.exists())
    paid = (Order.customer_id == Customer.id) & Order.status.in_(PAID_STATUSES)
    moment: Any
    if trigger is TriggerKind.AFTER_FIRST_ORDER:
        moment = select(func.min(Order.ordered_at)).where(paid).scalar_subquery()
        guard = ~delivered.exists()
    else:
        moment = select(func.max(Order.ordered_at)).where(paid).scalar_subquery()
        last = select(func.max(Order.ordered_at)).where(paid).scalar_subquery()
        guard = ~delivered.where(Delivery.not_before >= last).exists()
    stage = select(Customer.id.label("customer_id"),
                   sql_time.epoch_of(moment, dialect).label("moment")).where(*live, guard)
    # materialized: the first (last) order's time is read by several expressions below,
    # which must not each run the sub-query again
    staged = stage.cte("triggered").prefix_with("MATERIALIZED")
    send = staged.c.moment + campaign.trigger_days * sql_time.DAY_SECONDS
    window_start = _epoch(day_start - TRIGGER_GRACE, "window_start")
    window_end = _epoch(day_start + timedelta(days=1), "window_end")
    return select(staged.c.customer_id, send.label("send_epoch")).where(
        staged.c.moment.is_not(None), send >= window_start, send < window_end)


def _newest_consent(recipient: Any, channel: str) -> Any:
    """The id of the recipient's newest consent decision for ``channel`` (one probe of
    ``ix_consent_customer_channel_newest``, which is ordered the same way)."""
    return (select(Consent.id)
            .where(Consent.customer_id == recipient, Consent.channel == channel)
            .order_by(Consent.recorded_at.desc(), Consent.id.desc())
            .limit(1).scalar_subquery())


def _newest_consents(channel: str) -> Any:
    """Every customer's newest decision for ``channel``, as one set: one pass over the same
    index, in customer order (PostgreSQL merge-joins it; a probe per recipient there costs
    twice the CPU of the whole rest of the statement, measured)."""
    position = func.row_number().over(partition_by=Consent.customer_id,
                                      order_by=(Consent.recorded_at.desc(), Consent.id.desc()))
    ranked = (select(Consent.customer_id, Consent.granted, position.label("position"))
              .where(Consent.channel == channel).subquery("ranked"))
    return (select(ranked.c.customer_id, ranked.c.granted).where(ranked.c.position == 1)
            .cte("newest_consent"))


def _with_consent(source: Any, recipient: Any, channel: str, dialect: str) -> tuple[Any, Any]:
    """``source`` joined to each recipient's newest consent, and the ``granted`` column
    (``NULL``: never decided). SQLite probes the index per recipient (its window functions
    sort, measured slower); PostgreSQL joins the set."""
    if dialect == "postgresql":
        newest = _newest_consents(channel)
        return source.outerjoin(newest, newest.c.customer_id == recipient), newest.c.granted
    decision = table_of(Consent).alias("newest")
    return (source.outerjoin(decision, decision.c.id == _newest_consent(recipient, channel)),
            decision.c.granted)


def _risky_customers(maximum: str) -> Any:
    """Customers carrying a risk tag above ``maximum`` (``None`` when nothing is above)."""
    levels = _risky_levels(maximum)
    if not levels:
        return None
    tags = select(Tag.id).where(Tag.name.in_([risk_tag_name(level) for level in levels]))
    return (select(CustomerTag.customer_id).where(CustomerTag.tag_id.in_(tags))
            .distinct().cte("risky"))


def _reachable_customers() -> Any:
    return (select(Identity.customer_id)
            .where(Identity.kind == IdentityKind.WECOM_EXTERNAL_USERID.value)
            .distinct().cte("reachable"))


@dataclass(frozen=True)
class _Week:
    """How the weekly cap finds a recipient's week: one constant week (once and recurring
    runs: one send time), or each recipient's own (triggered: ``week`` is the epoch of the
    week's Monday 00:00 local, computed in SQL for both sides of the join)."""

    start: datetime
    end: datetime
    per_recipient: bool


def _week(campaign: Campaign, occurrence: Occurrence, run_send: datetime) -> _Week:
    if campaign.schedule_kind != ScheduleKind.TRIGGERED.value:
        return _Week(_week_of(run_send), _week_of(run_send) + timedelta(days=7), False)
    # a triggered send lies in [day - grace, day + 1 day), deferred at most to the next
    # 08:00: every week it can fall in starts from the first's Monday to the last's
    return _Week(_week_of(occurrence.at - TRIGGER_GRACE),
                 _week_of(occurrence.at + timedelta(days=2)) + timedelta(days=7), True)


def _sent_this_week(recipient_column: str, week: _Week, dialect: str) -> Any:
    """Deliveries sent or on their way per recipient (and week), counted once for the run
    by one ``GROUP BY`` over ``ix_campaign_delivery_status_not_before``."""
    earlier = table_of(Delivery).alias("earlier")
    recipient = earlier.c[recipient_column]
    keys: list[Any] = [recipient.label("recipient")]
    if week.per_recipient:
        keys.append(sql_time.week_start(sql_time.epoch_of(earlier.c.not_before, dialect))
                    .label("week"))
    return (select(*keys, func.count().label("sent"))
            .where(earlier.c.status.in_(ACTIVE_DELIVERY_STATUSES),
                   earlier.c.not_before >= bindparam("week_from", week.start,
                                                     type_=Delivery.not_before.type),
                   earlier.c.not_before < bindparam("week_until", week.end,
                                                    type_=Delivery.not_before.type),
                   recipient.is_not(None))
            .group_by(*keys).cte("sent_this_week"))


def _decisions(session: Session, campaign: Campaign, occurrence: Occurrence, run_id: int,
               now: datetime) -> _Statement:
    """The deliveries of the run as one ``SELECT``. Every rule input is a join, so the
    reason (read twice: status and reason) costs no second look-up: the newest consent
    (``_with_consent``); risky and reachable customers and this week's counts as sets
    computed once (PostgreSQL merges or hashes them; SQLite indexes each once)."""
    source: Any
    dialect = session.get_bind().dialect.name
    channel = CampaignChannel(campaign.channel)
    single = channel is CampaignChannel.WECOM_SINGLE
    defer = campaign.quiet_hours_policy == QuietHoursPolicy.DEFER.value
    triggered = campaign.schedule_kind == ScheduleKind.TRIGGERED.value
    run_send = _after_quiet_hours(occurrence.at) if defer else occurrence.at
    week = _week(campaign, occurrence, run_send)
    if single:
        candidates = _customer_candidates(session, campaign, occurrence, now, dialect).cte(
            "candidates")
        recipient = candidates.c.customer_id
        risky_set = _risky_customers(campaign.max_risk_level)
        reachable_set = _reachable_customers()
        consent: Any
        source, consent = _with_consent(candidates, recipient, CONSENT_CHANNEL[channel], dialect)
        if risky_set is not None:
            source = source.outerjoin(risky_set, risky_set.c.customer_id == recipient)
        source = source.outerjoin(reachable_set, reachable_set.c.customer_id == recipient)
        risky: Any = (risky_set.c.customer_id.is_not(None) if risky_set is not None
                      else false())
        reachable: Any = reachable_set.c.customer_id.is_not(None)
        cap, cap_reason = campaign.customer_cap_per_week, SuppressionReason.CUSTOMER_CAP
    else:
        candidates = select(Group.id.label("group_id"),
                            _epoch(occurrence.at, "run_epoch").label("send_epoch"),
                            Group.wecom_chat_id.is_not(None).label("reachable")).where(
            in_list(Group.id, campaign.group_ids), Group.status.in_(OPEN_STATUSES)).cte(
            "candidates")
        recipient = candidates.c.group_id
        source = candidates
        consent = literal(True)
        risky = false()
        reachable = candidates.c.reachable
        cap, cap_reason = campaign.group_cap_per_week, SuppressionReason.GROUP_CAP
    send = candidates.c.send_epoch
    quiet: Any
    if triggered:  # each recipient has a send time of their own
        not_before: Any = sql_time.after_quiet_hours(send) if defer else send
        quiet = false() if defer else sql_time.is_quiet(send)
    else:  # one send time for the run: decided here, bound as constants
        not_before = _epoch(run_send, "run_not_before")
        quiet = literal(not defer and _is_quiet(occurrence.at))
    counted = _sent_this_week("customer_id" if single else "group_id", week, dialect)
    matches = counted.c.recipient == recipient
    if week.per_recipient:
        matches = and_(matches, counted.c.week == sql_time.week_start(not_before))
    source = source.outerjoin(counted, matches)
    reason = case(
        (consent == false(), SuppressionReason.OPTED_OUT.value),
        (consent.is_(None), SuppressionReason.NO_CONSENT.value),
        (risky, SuppressionReason.RISK.value),
        (~reachable, SuppressionReason.UNREACHABLE.value),
        (quiet, SuppressionReason.QUIET_HOURS.value),
        (func.coalesce(counted.c.sent, 0) >= cap, cap_reason.value),
        else_=null())
    status = case(
        (reason.is_not(None), DeliveryStatus.SUPPRESSED.value),
        (held_out_sql(campaign.id, recipient, campaign.holdout_basis_points),
         DeliveryStatus.HOLDOUT.value),
        else_=DeliveryStatus.PLANNED.value)
    customer_column = recipient if single else null()
    group_column = null() if single else recipient
    statement = select(
        bindparam("plan_campaign", campaign.id, type_=BigInteger),
        bindparam("plan_run", run_id, type_=BigInteger),
        customer_column, group_column, status, reason,
        sql_time.instant_of(not_before, dialect) if triggered
        else bindparam("run_send", run_send, type_=Delivery.not_before.type),
        literal(0), bindparam("plan_now", now, type_=Delivery.planned_at.type),
    ).select_from(source)
    return _Statement(statement, ["campaign_id", "run_id", "customer_id", "group_id", "status",
                                  "reason", "not_before", "attempts", "planned_at"])


def _summarise(rows: Sequence[Any], *, run_id: int | None, occurrence: Occurrence) -> PlanSummary:
    by_reason: dict[str, int] = {}
    planned = holdout = suppressed = 0
    for status, reason, count in rows:
        if status == DeliveryStatus.HOLDOUT.value:
            holdout += int(count)
        elif status == DeliveryStatus.SUPPRESSED.value:
            suppressed += int(count)
            by_reason[str(reason)] = by_reason.get(str(reason), 0) + int(count)
        else:
            planned += int(count)
    return PlanSummary(run_id=run_id, occurrence=occurrence.key, planned_for=occurrence.at,
                       audience=planned + holdout + suppressed, planned=planned,
                       holdout=holdout, suppressed=suppressed,
                       suppressed_by=dict(sorted(by_reason.items())))


def preview_plan(session: Session, *, campaign: Campaign, occurrence: Occurrence,
                 now: datetime) -> PlanSummary:
    """What planning ``occurrence`` now would decide, without writing anything."""
    statement = _decisions(session, campaign, occurrence, 0, now).select.subquery()
    columns = list(statement.c)
    status_column, reason_column = columns[4], columns[5]
    rows = session.execute(select(status_column, reason_column, func.count())
                           .group_by(status_column, reason_column)).all()
    return _summarise(rows, run_id=None, occurrence=occurrence)


def plan_run(session: Session, *, campaign: Campaign, occurrence: Occurrence,
             now: datetime) -> PlanSummary | None:
    """Plan one occurrence in the caller's transaction; ``None`` if it was planned before."""
    run = CampaignRun(campaign_id=campaign.id, occurrence=occurrence.key,
                      planned_for=occurrence.at, planned_at=now)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        return None
    decisions = _decisions(session, campaign, occurrence, run.id, now)
    insert = table_of(Delivery).insert().from_select(decisions.columns, decisions.select)
    if session.get_bind().dialect.name == "postgresql":  # counted as inserted, in one go
        inserted = insert.returning(Delivery.status, Delivery.reason).cte("inserted")
        rows = session.execute(select(inserted.c.status, inserted.c.reason, func.count())
                               .group_by(inserted.c.status, inserted.c.reason)).all()
    else:
        session.execute(insert)
        rows = session.execute(select(Delivery.status, Delivery.reason, func.count())
                               .where(Delivery.campaign_id == campaign.id,
                                      Delivery.run_id == run.id)
                               .group_by(Delivery.status, Delivery.reason)).all()
    summary = _summarise(rows, run_id=run.id, occurrence=occurrence)
    run.counts = summary.model_dump(mode="json", include={"planned", "holdout", "suppressed",
                                                           "suppressed_by", "audience"})
    session.flush()
    return summary


def run_exists(session: Session, *, campaign_id: int, occurrence: str) -> bool:
    return session.scalar(select(CampaignRun.id).where(
        and_(CampaignRun.campaign_id == campaign_id,
             CampaignRun.occurrence == occurrence))) is not None
