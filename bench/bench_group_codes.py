"""Group-code routing latency (target: p99 < 5 ms), on SQLite and PostgreSQL, beside a named
baseline measured in the same run on the same data:

- ``yutang``: ``groups.routing.route_scan`` — six Core statements: the scan row upsert, the
  customer's member rows in the code's groups, one seat UPDATE of the least-full group with
  room (the first entry of the partial routing index), the member row, its timeline row and
  the scan row's group — one transaction per scan (SQLite: the writer turn of
  ``run_in_transaction``; PostgreSQL: two round trips, the upsert and the rest as one
  statement);
- ``baseline: count members``: the naive way — count the current members of every group of
  the code (``GROUP BY`` over ``group_member``), pick the least full with room, insert the
  member row — one transaction per scan (and no guarantee under concurrency).

A code routes into GROUPS groups of 50 that are 80% full; each scan is a new customer.
Besides wall-clock p50/p99 it prints the CPU time per scan of this process (less sensitive to
other work on a shared machine) and the statements per scan (counted on the connection).

    python bench/bench_group_codes.py [--groups 400] [--scans 3000] [--postgres URL]
                                      [--skip-postgres]
"""

from __future__ import annotations

import argparse
import base64
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from served import DATA_KEY
from sqlalchemy import Engine, event, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.support.postgres import create_database, postgres_server

from yutang.access.models import User
from yutang.groups.membership import join
from yutang.groups.models import Group, GroupCode, GroupMember, MembershipSource
from yutang.groups.routing import route_scan
from yutang.kit.clock import utcnow
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import (
    create_engine,
    make_session_factory,
    run_in_transaction,
    unit_of_work,
    writer_engine,
)
from yutang.migrate import upgrade
from yutang.org.models import Store
from yutang.pool.models import Customer
from yutang.runtime import freeze_start_up_heap

CAPACITY = 50
FILLED = 40


def _seed(factory: sessionmaker[Session], groups: int, scans: int
          ) -> tuple[int, int, list[int], list[int]]:
    """Two codes (one per contender) with ``groups`` groups each, 80% full; new customers."""
    with unit_of_work(factory) as session:
        now = utcnow()
        store = Store(code="BENCH", name="基准店", city="上海")
        session.add(store)
        session.flush()
        owner = User(username="bench-owner", password_hash="-", role="staff",  # noqa: S106
                     store_id=store.id)
        session.add(owner)
        session.flush()
        members = groups * FILLED * 2
        customers = [Customer(store_id=store.id, acquired_at=now)
                     for _ in range(members + 2 * scans)]
        session.add_all(customers)
        session.flush()
        ids = [customer.id for customer in customers]
        codes = []
        position = 0
        for name in ("yutang", "baseline"):
            code = GroupCode(store_id=store.id, owner_user_id=owner.id, name=name,
                             name_pattern="{name}{n}", auto_open=True, capacity=CAPACITY,
                             opened_groups=groups, created_at=now)
            session.add(code)
            session.flush()
            codes.append(code.id)
            for number in range(groups):
                group = Group(store_id=store.id, owner_user_id=owner.id,
                              name=f"{name}{number}", capacity=CAPACITY, member_count=FILLED,
                              code_id=code.id, sequence=number + 1, created_at=now)
                session.add(group)
                session.flush()
                session.add_all(GroupMember(
                    group_id=group.id, customer_id=ids[position + seat],
                    customer_key=ids[position + seat], status="member", first_joined_at=now,
                    joined_at=now, source="console") for seat in range(FILLED))
                position += FILLED
        return codes[0], codes[1], ids[members:members + scans], ids[members + scans:]


def _baseline_scan(session: Session, code_id: int, customer_id: int) -> int:
    counts = session.execute(
        select(Group.id, Group.capacity, func.count(GroupMember.id))
        .outerjoin(GroupMember, (GroupMember.group_id == Group.id)
                   & (GroupMember.status == "member"))
        .where(Group.code_id == code_id, Group.status == "active")
        .group_by(Group.id, Group.capacity)).all()
    room = [(count, group_id) for group_id, capacity, count in counts if count < capacity]
    _, group_id = min(room)
    group = session.get(Group, group_id)
    assert group is not None
    session.execute(update(Group).where(Group.id == group_id)
                    .values(member_count=Group.member_count + 1))
    join(session, group=group, customer_id=customer_id, at=utcnow(),
         source=MembershipSource.SCAN, seated=True)
    return group_id


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: int = 0


def _scan_one(scan: Callable[[Session, int], object], customer_id: int,
              session: Session) -> object:
    return scan(session, customer_id)


def _time(factory: sessionmaker[Session], customers: list[int],
          scan: Callable[[Session, int], object], engine: Engine) -> Timings:
    timings = Timings()

    def count(*_: object) -> None:
        timings.statements += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        for customer_id in customers:
            started, cpu = time.perf_counter(), time.process_time()
            run_in_transaction(factory, functools.partial(_scan_one, scan, customer_id))
            timings.wall.append((time.perf_counter() - started) * 1000)
            timings.cpu.append((time.process_time() - cpu) * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return timings


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _line(name: str, timings: Timings) -> str:
    p50, p99 = _percentiles(timings.wall)
    cpu50, cpu99 = _percentiles(timings.cpu)
    return (f"  {name:<26} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (CPU p50 {cpu50:5.2f} / "
            f"p99 {cpu99:5.2f} ms; {timings.statements / len(timings.wall):.1f} statements "
            f"per scan with BEGIN; {len(timings.wall):,} scans)")


def bench(label: str, url: str, groups: int, scans: int) -> None:
    upgrade(url)
    engine = create_engine(url)
    try:
        factory = make_session_factory(writer_engine(engine))
        code_id, baseline_code_id, ours, theirs = _seed(factory, groups, scans)
        # Statistics as autovacuum keeps them on a live server: without them PostgreSQL
        # takes the seeded code for a one-group code and plans both contenders' statements
        # for that.
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        # As `yutang serve` does: else the collector's full collections, walking every
        # object the imports and the seeding made, land on a few scans as pauses of ms.
        freeze_start_up_heap()

        def ours_scan(session: Session, customer_id: int) -> object:
            code = session.get(GroupCode, code_id)
            assert code is not None
            return route_scan(session, code=code, customer_id=customer_id, at=utcnow(),
                              actor_name="bench")

        warm = 50
        _time(factory, ours[:warm], ours_scan, engine)
        _time(factory, theirs[:warm], lambda s, c: _baseline_scan(s, baseline_code_id, c),
              engine)
        mine = _time(factory, ours[warm:], ours_scan, engine)
        naive = _time(factory, theirs[warm:],
                      lambda s, c: _baseline_scan(s, baseline_code_id, c), engine)
        print(f"{label}: a code over {groups} groups of {CAPACITY} ({FILLED} members each), "
              f"load average {os.getloadavg()[0]:.1f}")
        print(_line("yutang route_scan", mine))
        print(_line("baseline: count members", naive))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=400)
    parser.add_argument("--scans", type=int, default=3_000)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--skip-postgres", action="store_true")
    options = parser.parse_args()
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(DATA_KEY)))
    with tempfile.TemporaryDirectory() as directory:
        bench("SQLite", f"sqlite:///{Path(directory) / 'codes.db'}", options.groups,
              options.scans)
    if options.skip_postgres:
        return
    with ExitStack() as stack:
        base = options.postgres or stack.enter_context(postgres_server())
        bench("PostgreSQL", create_database(base, "yutang_bench_group_codes"), options.groups,
              options.scans)


if __name__ == "__main__":
    main()
