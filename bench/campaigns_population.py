"""A pool of N customers for the campaigns benchmarks, written set-based into a fresh
database (a SQLite file, or a PostgreSQL database): stores, layers (value tier, lifecycle
stage), a WeCom id for 80%, marketing consent for 60% (a tenth of them withdrawn later),
a high risk tag for 1% (consenting and reachable ones, so the rule decides for them),
deliveries of an earlier campaign this week and last week (so the weekly cap has work to do:
5% are capped, 15% have deliveries that do not count), and campaigns with approved content
over a segment (value tier vip/high/medium, active or at risk, consent granted) and over
everyone.

Earlier deliveries, by ``id % 20``: 1 → two sent this week (capped); 2 → one planned this
week; 4 → two sent last week; 5 → two failed this week (failed ones do not count).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import segments as segment_service
from yutang.campaigns.models import CampaignStatus
from yutang.campaigns.schemas import CampaignIn, ContentIn, SegmentIn
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import UTCDateTime, create_engine, make_session_factory, unit_of_work
from yutang.migrate import upgrade

ACTOR = Principal.system("bench")
SEND_AT = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
"""Tuesday 12:00 Asia/Shanghai; its ISO week starts Monday 2026-12-07 00:00 local."""
WEEK_START = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
WEEK_END = datetime(2026, 12, 13, 16, 0, tzinfo=UTC)
THIS_MONDAY = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
LAST_MONDAY = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
SEGMENT_RULE = {"all": [
    {"field": "value_tier", "op": "in", "value": ["vip", "high", "medium"]},
    {"field": "lifecycle_stage", "op": "in", "value": ["active", "at_risk", "won_back"]},
    {"field": "consent", "op": "granted", "value": "wecom"},
]}
EVERYONE = {"not": {"field": "store", "op": "eq", "value": 999_999}}
_INSTANTS = {"created": datetime(2026, 1, 1, tzinfo=UTC),
             "granted_at": datetime(2026, 1, 2, tzinfo=UTC),
             "withdrawn_at": datetime(2026, 2, 1, tzinfo=UTC),
             "this_monday": THIS_MONDAY, "last_monday": LAST_MONDAY}


@dataclass(frozen=True)
class Population:
    url: str
    campaign_id: int
    segment_id: int
    everyone_campaign_id: int


def _execute(connection: Connection, sql: str, **values: object) -> None:
    statement = text(sql)
    for name, instant in _INSTANTS.items():
        if f":{name}" in sql:
            statement = statement.bindparams(bindparam(name, instant, type_=UTCDateTime()))
    connection.execute(statement, values)


def _numbers(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT i FROM generate_series(1, :customers) AS n(i)"
    return ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < :customers) SELECT i FROM n")


def build(path: Path | None, customers: int, *, url: str | None = None) -> Population:
    """A fresh population in the SQLite file ``path``, or in the (empty) database ``url``."""
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(
        base64.urlsafe_b64encode(bytes(range(32))))))
    if url is None:
        assert path is not None
        if path.exists():
            os.remove(path)
        url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_engine(url)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        if dialect == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for number in range(20):
            _execute(connection, "INSERT INTO store (code, name, city, group_capacity, "
                     "created_at) VALUES (:code, :name, '上海', 50, :created)",
                     code=f"B{number:02d}", name=f"门店{number}")
        _execute(connection, f"""
            INSERT INTO customer (id, store_id, acquired_at, gender, created_at, updated_at,
                                  value_tier, lifecycle_stage, rfm_recency_score)
            SELECT i, 1 + i % 20, :created, 'unknown', :created, :created,
                   CASE (i * 7) % 5 WHEN 0 THEN 'vip' WHEN 1 THEN 'high' WHEN 2 THEN 'medium'
                        WHEN 3 THEN 'low' ELSE 'prospect' END,
                   CASE (i * 3) % 4 WHEN 0 THEN 'active' WHEN 1 THEN 'at_risk'
                        WHEN 2 THEN 'lost' ELSE 'new' END, 1 + i % 5
            FROM ({_numbers(dialect)}) AS numbers""", customers=customers)  # noqa: S608
        if dialect == "postgresql":
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('customer', 'id'), "
                "(SELECT max(id) FROM customer))")
        connection.execute(text("""
            INSERT INTO identity (customer_id, kind, scope, value_index, value, source,
                                  created_at)
            SELECT id, 'wecom_external_userid', '', 'wm' || CAST(id AS VARCHAR), :blob,
                   'bench', created_at
            FROM customer WHERE id % 5 <> 0"""), {"blob": b"\x00"})
        _execute(connection, """
            INSERT INTO consent (customer_id, channel, granted, source, recorded_at,
                                 recorded_by)
            SELECT id, 'wecom', TRUE, 'bench', :granted_at, ''
            FROM customer WHERE id % 10 < 6""")
        _execute(connection, """
            INSERT INTO consent (customer_id, channel, granted, source, recorded_at,
                                 recorded_by)
            SELECT id, 'wecom', FALSE, 'bench', :withdrawn_at, ''
            FROM customer WHERE id % 100 = 3""")
        _execute(connection, "INSERT INTO tag (name, category, created_at) "
                 "VALUES ('risk:high', 'risk', :created)")
        _execute(connection, """
            INSERT INTO customer_tag (customer_id, tag_id, source, created_at)
            SELECT id, (SELECT id FROM tag WHERE name = 'risk:high'), 'bench', :created
            FROM customer WHERE id % 100 = 1""")
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        population = _campaigns(session, url)
    with engine.begin() as connection:
        _earlier_deliveries(connection, population.campaign_id)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE")
        if dialect == "postgresql":  # the build's dirty pages are written out now, not
            connection.exec_driver_sql("CHECKPOINT")  # by the statement measured next
    engine.dispose()
    return population


def _earlier_deliveries(connection: Connection, campaign_id: int) -> None:
    """An earlier campaign's deliveries, this week and last (see the module docstring)."""
    for occurrence, planned_for in (("earlier-this-week", "this_monday"),
                                    ("earlier-last-week", "last_monday")):
        _execute(connection, f"""
            INSERT INTO campaign_run (campaign_id, occurrence, planned_for, planned_at, counts)
            VALUES (:campaign, :occurrence, :{planned_for}, :{planned_for}, '{{}}')""",  # noqa: S608
                 campaign=campaign_id, occurrence=occurrence)
    for copy in (1, 2):
        for remainder, status, week in ((1, "sent", "this"), (2, "planned", "this"),
                                        (4, "sent", "last"), (5, "failed", "this")):
            if remainder == 2 and copy == 2:
                continue
            _execute(connection, f"""
                INSERT INTO campaign_delivery (campaign_id, run_id, customer_id, status,
                                               not_before, attempts, planned_at)
                SELECT :campaign, (SELECT id FROM campaign_run WHERE campaign_id = :campaign
                                   AND occurrence = 'earlier-{week}-week'),
                       id, :status, :{week}_monday, 0, :{week}_monday
                FROM customer WHERE id % 20 = :remainder""",  # noqa: S608
                     campaign=campaign_id, status=status, remainder=remainder)


def _campaign(session: Session, name: str, segment_id: int, content_id: int) -> int:
    campaign = campaign_service.create_campaign(session, actor=ACTOR, data=CampaignIn(
        name=name, channel="wecom_single", audience_kind="segment", segment_id=segment_id,
        content_id=content_id, schedule_kind="once", send_at=SEND_AT, sender_userid="hq"))
    campaign_service.set_status(session, actor=ACTOR, campaign_id=campaign.id,
                                status=CampaignStatus.ACTIVE)
    return campaign.id


def _campaigns(session: Session, url: str) -> Population:
    content = content_service.create_content(session, actor=ACTOR, data=ContentIn(
        name="周二特惠", category="promotion", body="{name}您好，{store}周二特惠"))
    content_service.approve_content(session, actor=ACTOR, content_id=content.id)
    segment = segment_service.create_segment(session, actor=ACTOR, data=SegmentIn(
        name="高价值活跃", rule=SEGMENT_RULE))
    everyone = segment_service.create_segment(session, actor=ACTOR, data=SegmentIn(
        name="全部", rule=EVERYONE))
    return Population(url=url, segment_id=segment.id,
                      campaign_id=_campaign(session, "高价值周二特惠", segment.id, content.id),
                      everyone_campaign_id=_campaign(session, "全员周二特惠", everyone.id,
                                                     content.id))


# --- what the benchmarks share: databases, CPU seconds, the load ---------------------------


def load_average() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


@contextmanager
def postgres_base(url: str | None) -> Iterator[str]:
    """``url``, or a throw-away PostgreSQL server started as the tests start theirs."""
    with ExitStack() as stack:
        if url is None:
            from tests.support.postgres import postgres_server

            url = stack.enter_context(postgres_server())
        yield url


def new_postgres_database(base_url: str, name: str) -> str:
    from tests.support.postgres import create_database

    return create_database(base_url, name)


def _process_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stopwatch:
    """Wall seconds and the CPU seconds of whoever runs the statements: this process on
    SQLite, the connection's server backend on PostgreSQL (when it runs on this machine).
    On a loaded machine the CPU seconds are what the statement itself cost."""

    def __init__(self, connection: Connection) -> None:
        self.backend_pid: int | None = None
        if connection.dialect.name == "postgresql":
            self.backend_pid = int(connection.exec_driver_sql(
                "SELECT pg_backend_pid()").scalar_one())

    def _cpu(self) -> float | None:
        if self.backend_pid is None:
            return time.process_time()
        return _process_cpu(self.backend_pid)

    @contextmanager
    def measure(self) -> Iterator[list[float | None]]:
        """Yields a list that holds [wall, cpu] once the block is done."""
        result: list[float | None] = []
        cpu, wall = self._cpu(), time.perf_counter()
        yield result
        wall_seconds = time.perf_counter() - wall
        cpu_after = self._cpu()
        result.extend([wall_seconds, None if cpu is None or cpu_after is None
                       else cpu_after - cpu])


def seconds(measured: list[float | None]) -> str:
    wall, cpu = measured
    assert wall is not None
    return f"{wall:.2f} s" + (f" (CPU {cpu:.2f} s)" if cpu is not None else "")
