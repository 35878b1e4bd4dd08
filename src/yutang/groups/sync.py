"""Pool events applied to groups: ``join_group``/``leave_group`` (memberships), ``message``
(daily activity) and ``red_packet_claim`` (probe claims).

An event names its group by ``properties.group_id`` (our id, for API-ingested events) or
``properties.chat_id`` (the WeCom chat, as the connector sends them). A ``join_group`` of a
chat we do not know opens a group for it when the event's store and the chat's owner
(``properties.owner``, a staff member's WeCom userid) are known.

Each event is applied once: its ``event.id`` is written to ``group_event_receipt`` (``INSERT …
ON CONFLICT DO NOTHING``) in the transaction that applies it, and only the events whose
receipt went in are applied — so the after-commit reaction and the sweep may both see an
event, in any order, any number of times. The sweep reads from a durable cursor (the last
``event.id`` it may never need again). On PostgreSQL ids are not committed in order, so the
cursor only moves past events received more than ``SETTLE`` ago; later ones are read again
next time (their receipts make that harmless).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from yutang.groups import repository
from yutang.groups.membership import MemberBook, join, leave
from yutang.groups.models import (
    Group,
    GroupEventReceipt,
    GroupProbe,
    GroupProbeClaim,
    GroupStatus,
    MembershipSource,
)
from yutang.groups.schemas import SyncRead
from yutang.kit.bulk_insert import insert_new_rows
from yutang.kit.clock import ensure_utc, to_local, utcnow
from yutang.kit.sql import insert_into, table_of
from yutang.org import service as org_service

JOIN, LEAVE, MESSAGE, CLAIM = "join_group", "leave_group", "message", "red_packet_claim"
EVENT_TYPES = (JOIN, LEAVE, MESSAGE, CLAIM)
CURSOR = "pool_events"
SETTLE = timedelta(minutes=10)
"""Longer than any transaction that stores events runs."""
BATCH = 2_000


def _group_of(session: Session, properties: dict[str, Any], cache: dict[str, Group | None]
              ) -> Group | None:
    raw = properties.get("group_id")
    if raw is not None and str(raw).isdigit():
        key = f"id:{raw}"
        if key not in cache:
            cache[key] = repository.group_by_id(session, int(raw))
        return cache[key]
    chat = properties.get("chat_id")
    if isinstance(chat, str) and chat:
        key = f"chat:{chat}"
        if cache.get(key) is None:
            cache[key] = repository.group_by_chat(session, chat)
        return cache[key]
    return None


def _open_for_chat(session: Session, row: Row[Any], cache: dict[str, Group | None]
                   ) -> Group | None:
    """A group for a WeCom chat first seen in a join (store and owner must be known)."""
    chat, owner = row.properties.get("chat_id"), row.properties.get("owner")
    if not isinstance(chat, str) or not chat or not isinstance(owner, str):
        return None
    user = repository.users_by_wecom_userid(session, [owner]).get(owner)
    store_id = row.store_id if row.store_id is not None else (user.store_id if user else None)
    if user is None or store_id is None:
        return None
    store = org_service.get_store(session, store_id=store_id)
    name = str(row.properties.get("group_name") or chat)[:100]
    group = Group(store_id=store_id, owner_user_id=user.id, name=name,
                  capacity=store.group_capacity, member_count=0,
                  status=GroupStatus.ACTIVE.value, wecom_chat_id=chat,
                  created_at=ensure_utc(row.occurred_at), created_by="wecom")
    session.add(group)
    session.flush()
    cache[f"chat:{chat}"] = group
    return group


def _claim(session: Session, *, probe: GroupProbe, customer_id: int | None, at: datetime,
           event_id: int | None) -> bool:
    """One packet of ``probe`` claimed; False if this claimer claimed already or none is left."""
    claimer = (f"c:{customer_id}" if customer_id is not None
               else f"e:{event_id}" if event_id is not None else f"a:{uuid.uuid4().hex}")
    inserted = session.execute(insert_into(session, GroupProbeClaim).values(
        probe_id=probe.id, customer_id=customer_id, claimer_key=claimer, claimed_at=at,
        event_id=event_id).on_conflict_do_nothing(index_elements=["probe_id", "claimer_key"])
        .returning(GroupProbeClaim.id)).first()
    if inserted is None:
        return False
    if not repository.record_claim_on_probe(session, probe.id, at):
        session.execute(table_of(GroupProbeClaim).delete().where(
            table_of(GroupProbeClaim).c.id == inserted[0]))
        return False
    if customer_id is not None:
        repository.add_activity(session, [{"group_id": probe.group_id,
                                           "customer_key": customer_id,
                                           "day": to_local(at).date(),
                                           "messages": 0, "claims": 1}])
    return True


def claim(session: Session, *, probe: GroupProbe, customer_id: int | None, at: datetime,
          event_id: int | None = None) -> bool:
    return _claim(session, probe=probe, customer_id=customer_id, at=at, event_id=event_id)


def apply_events(session: Session, rows: Sequence[Row[Any]]) -> tuple[int, int]:
    """Apply the events not applied before; (applied, skipped: no group, no customer, or
    already applied)."""
    if not rows:
        return 0, 0
    cache: dict[str, Group | None] = {}
    targets: dict[int, Group | None] = {}
    outcomes = []
    for row in rows:
        group = _group_of(session, row.properties or {}, cache)
        targets[row.id] = group
        if row.customer_id is None and row.type != CLAIM:
            outcome = "no_customer"
        elif group is None and not (row.type == JOIN and row.properties.get("chat_id")):
            outcome = "no_group"
        else:
            outcome = "applied"
        outcomes.append((row.id, outcome, utcnow()))
    new = set(insert_new_rows(session, table_of(GroupEventReceipt),
                              ("event_id", "outcome", "applied_at"), outcomes,
                              unique=["event_id"], returning="event_id"))
    applied = 0
    messages: dict[tuple[int, int, Any], int] = defaultdict(int)
    book = MemberBook(session, [
        (group.id, row.customer_id) for row in rows
        if row.type in (JOIN, LEAVE) and row.customer_id is not None
        and (group := targets[row.id]) is not None])
    for row, (_, outcome, _) in zip(rows, outcomes, strict=True):
        if row.id not in new or outcome != "applied":
            continue
        group = targets[row.id]
        if group is None and row.type == JOIN:
            group = _group_of(session, row.properties, cache) or _open_for_chat(session, row,
                                                                                cache)
        if group is None:
            continue
        at = ensure_utc(row.occurred_at)
        applied += _apply_one(session, row, group, at, messages, book)
    book.settle()
    repository.add_activity(session, [
        {"group_id": group_id, "customer_key": key, "day": day, "messages": count,
         "claims": 0} for (group_id, key, day), count in sorted(messages.items())])
    return applied, len(rows) - applied


def _apply_one(session: Session, row: Row[Any], group: Group, at: datetime,
               messages: dict[tuple[int, int, Any], int], book: MemberBook) -> int:
    if row.type == JOIN:
        join(session, group=group, customer_id=row.customer_id, at=at,
             source=MembershipSource.EVENT, seated=False, event_id=row.id, book=book)
    elif row.type == LEAVE:
        leave(session, group=group, customer_id=row.customer_id, at=at,
              source=MembershipSource.EVENT, event_id=row.id, book=book)
    elif row.type == MESSAGE:
        messages[(group.id, row.customer_id, to_local(at).date())] += 1
    else:
        raw = row.properties.get("probe_id")
        probe = (repository.probe_by_id(session, int(raw))
                 if raw is not None and str(raw).isdigit() else None)
        if probe is None or probe.group_id != group.id:
            probe = repository.latest_probe_before(session, group.id, at)
        if probe is None:
            return 0
        return int(_claim(session, probe=probe, customer_id=row.customer_id, at=at,
                          event_id=row.id))
    return 1


def apply_stored(session: Session, event_ids: Sequence[str]) -> int:
    """The fast path: apply the group events among those a pool call just stored."""
    rows = repository.events_by_event_ids(session, event_ids, EVENT_TYPES)
    return apply_events(session, rows)[0]


def sweep(session: Session, *, now: datetime | None = None, after: int | None = None,
          limit: int = BATCH) -> SyncRead:
    """Apply up to ``limit`` group events after ``after`` (default: the durable cursor), and
    move the cursor past those settled. ``last_event_id`` in the answer is where the next
    call should continue (``after``)."""
    moment = now or utcnow()
    position = repository.cursor(session, CURSOR)
    start = position.last_event_id if after is None else max(after, position.last_event_id)
    rows = repository.events_after(session, start, EVENT_TYPES, limit)
    applied, skipped = apply_events(session, rows)
    settled = position.last_event_id
    for row in rows:
        if ensure_utc(row.received_at) > moment - SETTLE:
            break
        settled = row.id
    if settled != position.last_event_id:
        position.last_event_id = settled
        position.updated_at = moment
    session.flush()
    return SyncRead(read=len(rows), applied=applied, skipped=skipped,
                    last_event_id=rows[-1].id if rows else start)
