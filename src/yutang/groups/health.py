"""Group health: the dead-group rule, weekly health per group, and what to do with a dead one.

Seed 002: "send red packets into the group — if they are not all claimed within 5-6 minutes,
it is basically a dead group"; "of 50 members, about 10% real prospects is already worth it".
A group is **dead** as of a moment when, judging only what happened since it was created or
last revived, within the rule's window (default four weeks):

- its latest red-packet probe whose claim time is over was not fully claimed within
  ``probe_claim_minutes`` (default 6), or
- it has existed for the whole window and under ``min_active_share_percent`` (default 10) of
  its current members were active (sent a message or claimed a packet) in the window.

It is **alive** when a judged test passes and none fails, **unjudged** when neither applies
(too young, no probe, no members).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from yutang.groups import repository
from yutang.groups.models import DeadReason, Group, GroupProbe, GroupRule
from yutang.groups.schemas import HealthRead, WeekHealth
from yutang.kit.clock import local_day_start_utc, to_local

ALIVE, DEAD, UNJUDGED = "alive", "dead", "unjudged"


@dataclass(frozen=True)
class DeadGroupRule:
    probe_claim_minutes: int = 6
    """Seed 002: red packets not all claimed within 5-6 minutes: a dead group."""
    min_active_share_percent: int = 10
    """Seed 002: about 10% of a 50-person group interested is already worth it."""
    window_weeks: int = 4

    @property
    def claim_window(self) -> timedelta:
        return timedelta(minutes=self.probe_claim_minutes)

    @property
    def window(self) -> timedelta:
        return timedelta(weeks=self.window_weeks)

    @classmethod
    def of(cls, row: GroupRule | None) -> DeadGroupRule:
        if row is None:
            return cls()
        return cls(probe_claim_minutes=row.probe_claim_minutes,
                   min_active_share_percent=row.min_active_share_percent,
                   window_weeks=row.window_weeks)


DEFAULT_RULE = DeadGroupRule()


def current_rule(session: Session) -> DeadGroupRule:
    return DeadGroupRule.of(repository.rule(session))


def probe_passed(probe: GroupProbe, rule: DeadGroupRule) -> bool:
    """All packets claimed, the last within the rule's minutes of sending."""
    return (probe.claimed >= probe.packets and probe.last_claim_at is not None
            and probe.last_claim_at - probe.sent_at <= rule.claim_window)


def _day_range(start: datetime, end: datetime) -> tuple[date, date]:
    """The local days [first, last + 1) that hold the instants [start, end)."""
    return (to_local(start).date(),
            to_local(end - timedelta(microseconds=1)).date() + timedelta(days=1))


def judge(session: Session, groups: Sequence[Group], *, rule: DeadGroupRule,
          as_of: datetime) -> dict[int, HealthRead]:
    """The rule applied to each group as of ``as_of`` (reads only)."""
    if not groups:
        return {}
    ids = [group.id for group in groups]
    window_start = as_of - rule.window
    first_day, end_day = _day_range(window_start, as_of)
    last_active: dict[int, dict[int, date]] = defaultdict(dict)
    for group_id, key, day in repository.last_active_days(session, ids, first_day, end_day):
        last_active[group_id][key] = day
    members = repository.current_member_keys(session, ids)
    latest: dict[int, GroupProbe] = {}
    for sent in repository.probes_of(session, ids, window_start,
                                     as_of - rule.claim_window + timedelta(microseconds=1)):
        latest[sent.group_id] = sent  # ordered by sending time: the last one wins
    verdicts: dict[int, HealthRead] = {}
    for group in groups:
        since = max(filter(None, (window_start, group.revived_at)))
        since_day = to_local(since).date()
        current = members.get(group.id, set())
        active = sum(1 for key, day in last_active[group.id].items()
                     if day >= since_day and key in current)
        count = group.member_count
        share = active / count if count else 0.0
        probe: GroupProbe | None = latest.get(group.id)
        if probe is not None and probe.sent_at < since:
            probe = None
        passed = None if probe is None else probe_passed(probe, rule)
        born = max(filter(None, (group.created_at, group.revived_at)))
        activity_judged = born <= window_start and count > 0
        low = activity_judged and active * 100 < rule.min_active_share_percent * count
        if passed is False:
            status, reason = DEAD, DeadReason.PROBE_NOT_CLAIMED.value
        elif low:
            status, reason = DEAD, DeadReason.LOW_ACTIVITY.value
        elif passed or activity_judged:
            status, reason = ALIVE, None
        else:
            status, reason = UNJUDGED, None
        verdicts[group.id] = HealthRead(
            status=status, reason=reason, members=count, active_members=active,
            active_share=round(share, 4), latest_probe_id=probe.id if probe else None,
            latest_probe_passed=passed, window_start=since, as_of=as_of)
    return verdicts


def iso_week_start(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def weekly(session: Session, group: Group, *, weeks: int, as_of: datetime,
           rule: DeadGroupRule) -> list[WeekHealth]:
    """The last ``weeks`` ISO weeks (Asia/Shanghai) up to the one holding ``as_of``."""
    last_week = iso_week_start(to_local(as_of).date())
    starts = [last_week - timedelta(weeks=back) for back in range(weeks - 1, -1, -1)]
    end_day = last_week + timedelta(weeks=1)
    messages: dict[date, int] = defaultdict(int)
    active: dict[date, set[int]] = defaultdict(set)
    for key, day, count in repository.activity_of(session, group.id, starts[0], end_day):
        week = iso_week_start(day)
        messages[week] += count
        active[week].add(key)
    changes = repository.member_changes(session, group.id, local_day_start_utc(end_day))
    probes = repository.probes_of(session, [group.id], local_day_start_utc(starts[0]),
                                  local_day_start_utc(end_day))
    result = []
    for start in starts:
        week_from, week_to = local_day_start_utc(start), local_day_start_utc(
            start + timedelta(weeks=1))
        present: set[int] = set()
        new: set[int] = set()
        lost: set[int] = set()
        for customer_id, kind, at in changes:
            if at >= week_to:
                break
            if kind == "joined":
                present.add(customer_id)
            else:
                present.discard(customer_id)
            if at >= week_from:
                (new if kind == "joined" else lost).add(customer_id)
        in_week = [probe for probe in probes if week_from <= probe.sent_at < week_to]
        full = [probe for probe in in_week if probe.claimed >= probe.packets
                and probe.last_claim_at is not None]
        iso = start.isocalendar()
        members_at_end = len(present)
        result.append(WeekHealth(
            week=f"{iso.year}-W{iso.week:02d}", week_start=start,
            messages=messages[start], active_members=len(active[start]),
            members_at_end=members_at_end,
            active_share=round(len(active[start]) / members_at_end, 4) if members_at_end
            else 0.0,
            new_members=len(new), lost_members=len(lost), probes=len(in_week),
            packets_sent=sum(probe.packets for probe in in_week),
            packets_claimed=sum(probe.claimed for probe in in_week),
            seconds_to_last_claim=max(
                (int((probe.last_claim_at - probe.sent_at).total_seconds())
                 for probe in full if probe.last_claim_at is not None), default=None)))
    return result


MERGE_AT_MOST_SHARE = 2
"""A dead group is merged (rather than revived) when it holds at most 1/2 of its capacity."""
DISMISS_BELOW_MEMBERS = 5


@dataclass(frozen=True)
class Advice:
    action: str
    target: Group | None = None


def advise(group: Group, verdict: HealthRead | None, siblings: Sequence[Group],
           sibling_verdicts: dict[int, HealthRead]) -> Advice:
    """What to do with a dead group:

    - **dismiss** when it is nearly empty (under 5 members) and nobody was active;
    - **merge** into the fullest living group of the store that has room for all its members,
      when it holds at most half its capacity;
    - **revive with content** when some members are still active (or it is too big to move);
    - **dismiss** otherwise (nobody active, nowhere to go).
    """
    active = verdict.active_members if verdict else 0
    if group.member_count < DISMISS_BELOW_MEMBERS and active == 0:
        return Advice("dismiss")
    if group.member_count * MERGE_AT_MOST_SHARE <= group.capacity:
        targets = [
            sibling for sibling in siblings
            if sibling.id != group.id and sibling.store_id == group.store_id
            and sibling.status == "active"
            and (sibling_verdicts.get(sibling.id) is None
                 or sibling_verdicts[sibling.id].status != DEAD)
            and sibling.member_count + group.member_count <= sibling.capacity
        ]
        if targets:
            best = max(targets, key=lambda sibling: (sibling.member_count, -sibling.id))
            return Advice("merge", best)
    if active > 0 or group.member_count * MERGE_AT_MOST_SHARE > group.capacity:
        return Advice("revive")
    return Advice("dismiss")
