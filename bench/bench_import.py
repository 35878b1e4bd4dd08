"""Bulk import throughput (rows/s) against a named baseline in the same run.

    python bench/bench_import.py [--customers 20000] [--events 50000]

Two CSV files are generated (customers with a phone and a unionid; events of those customers
carrying their phone, a share with a second identifier), then imported into a fresh migrated
SQLite database the way ``yutang import customers|events FILE`` does (``import_rows``: rows
read from the file, chunked transactions, OneID per chunk). The baseline imports the same
rows one transaction per row through the same domain functions, as a naive importer would.
"""

from __future__ import annotations

import argparse
import csv
import secrets
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from yutang.access.roles import Principal
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine, make_session_factory, writer_engine
from yutang.migrate import upgrade
from yutang.pool.import_files import read_rows
from yutang.pool.imports import ImportKind, ImportSummary, import_rows
from yutang.pool.oneid import DEFAULT_POLICY

ACTOR = Principal.system("bench")
START = datetime(2026, 10, 1, tzinfo=UTC)


def write_customers(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone", "wechat_unionid", "name", "gender"])
        for number in range(count):
            writer.writerow([f"139{number:08d}", f"oBench{number:021d}", f"客户{number}",
                             "female" if number % 2 else "male"])


def write_events(path: Path, count: int, people: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "type", "occurred_at", "phone", "app_user_id"])
        for number in range(count):
            person = number * 7919 % people
            moment = START + timedelta(seconds=number * 13)
            second = f"U{person:09d}" if number % 5 == 0 else ""
            writer.writerow([f"bench-{number}", "view", moment.isoformat(),
                             f"139{person:08d}", second])


def fresh_factory(directory: Path, name: str) -> sessionmaker[Session]:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    return make_session_factory(writer_engine(create_engine(url)))


def bulk(factory: sessionmaker[Session], kind: ImportKind, path: Path) -> ImportSummary:
    return import_rows(factory, actor=ACTOR, kind=kind, rows=read_rows(path),
                       policy=DEFAULT_POLICY)


def row_by_row(factory: sessionmaker[Session], kind: ImportKind, path: Path) -> ImportSummary:
    """The baseline: the same importer, one row per call and transaction."""
    total = ImportSummary(kind=kind)
    for row in read_rows(path):
        total.add(import_rows(factory, actor=ACTOR, kind=kind, rows=[row],
                              policy=DEFAULT_POLICY))
    return total


def timed(work: Callable[[], ImportSummary]) -> tuple[float, ImportSummary]:
    started = time.perf_counter()
    summary = work()
    return time.perf_counter() - started, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=50_000)
    arguments = parser.parse_args()
    configure_protector(DataProtector.from_master_key(secrets.token_bytes(32)))
    print(f"import into SQLite: {arguments.customers:,} customers, then "
          f"{arguments.events:,} events of them")
    print(f"{'method':<36}{'kind':<11}{'rows':>9}{'seconds':>9}{'rows/s':>9}")
    with tempfile.TemporaryDirectory(prefix="yutang-bench-") as folder:
        directory = Path(folder)
        customers, events = directory / "customers.csv", directory / "events.csv"
        write_customers(customers, arguments.customers)
        write_events(events, arguments.events, arguments.customers)
        for name, method in (("yutang import (chunked)", bulk),
                             ("baseline: one row per transaction", row_by_row)):
            factory = fresh_factory(directory, f"{method.__name__}.db")
            for kind, path, rows in ((ImportKind.CUSTOMERS, customers, arguments.customers),
                                     (ImportKind.EVENTS, events, arguments.events)):
                seconds, summary = timed(lambda: method(factory, kind, path))  # noqa: B023
                if summary.rejected or summary.accepted != rows:
                    raise SystemExit(f"{name}: not every row went in: {summary}")
                print(f"{name:<36}{kind.value:<11}{rows:>9,}{seconds:>9.1f}"
                      f"{rows / seconds:>9,.0f}")


if __name__ == "__main__":
    main()
