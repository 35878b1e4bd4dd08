"""Operator load at scale: one campaign with identical content to N customers (default
20,000 and 200,000) of a constant number of staff members (default 2: seed 003's "20,000
users need 2 people"), planned by the real planner and sent by the real sender to the WeCom
simulator (in process) on SQLite; then the confirmations each staff member must make, read
from the operator-load report, against the named baseline — one WeCom task per delivery,
as the sender did before it batched (the count of each staff member's deliveries).

    python bench/bench_operator_load.py [--customers 20000 200000] [--staff 2]
        [--batch-sizes 1000 10000] [--path bench_operator_load.db]

Each batch size sends the same planned deliveries again (they are reset to ``planned``).
Seconds are wall time of the sender on a machine others may load; the task counts are exact.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from yutang.access.roles import Principal
from yutang.campaigns import campaigns as campaign_service
from yutang.campaigns import content as content_service
from yutang.campaigns import segments as segment_service
from yutang.campaigns import service
from yutang.campaigns.models import CampaignStatus, Delivery
from yutang.campaigns.operator_load import operator_load
from yutang.campaigns.schemas import CampaignIn, ContentIn, SegmentIn
from yutang.campaigns.sender import SenderSettings, SendReport, send_due
from yutang.connectors.wecom.client import WeComClient
from yutang.connectors.wecom.models import WeComContact
from yutang.connectors.wecom.simulator import SimulatedCorp, WeComSimulator
from yutang.kit.crypto import DataProtector, configure_protector, get_protector
from yutang.kit.db import create_engine, make_session_factory, unit_of_work, writer_engine
from yutang.migrate import upgrade
from yutang.pool.models import Consent, Identity, IdentityKind

ACTOR = Principal.system("bench")
SEND_AT = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # Tuesday 12:00 Asia/Shanghai, 2026-W50
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
CORP = SimulatedCorp(corp_id="wwbenchload0001", secret="bench-secret",  # noqa: S106
                     token="benchToken1",  # noqa: S106 - the simulator's, not a secret
                     encoding_aes_key=base64.b64encode(bytes(range(32))).decode()[:-1])
KIND = IdentityKind.WECOM_EXTERNAL_USERID.value
ROWS_PER_INSERT = 20_000


def _numbers() -> str:
    return ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < :customers) SELECT i FROM n")


def _population(session: Session, customers: int, staff: int) -> int:
    """Customers who agreed to WeCom messages, each the contact of staff member
    ``staff-(id % staff)``; an approved text without per-customer variables; a campaign
    to everyone. Returns the campaign id."""
    session.execute(text("INSERT INTO store (code, name, city, group_capacity, created_at) "
                         "VALUES ('L01', '门店一', '上海', 50, :at)"), {"at": CREATED})
    session.execute(text(f"""
        INSERT INTO customer (id, store_id, acquired_at, gender, created_at, updated_at)
        SELECT i, 1, :at, 'unknown', :at, :at FROM ({_numbers()}) AS numbers"""),  # noqa: S608
        {"customers": customers, "at": CREATED})
    protector = get_protector()
    for start in range(1, customers + 1, ROWS_PER_INSERT):
        ids = range(start, min(start + ROWS_PER_INSERT, customers + 1))
        externals = {number: f"wmbench{number:08d}" for number in ids}
        indexes = {number: protector.blind_index(value, KIND)
                   for number, value in externals.items()}
        session.execute(insert(Identity), [
            {"customer_id": number, "kind": KIND, "scope": "", "value": externals[number],
             "value_index": indexes[number], "source": "bench"} for number in ids])
        session.execute(insert(WeComContact), [
            {"corp_id": CORP.corp_id, "staff_userid": f"staff-{number % staff}",
             "external_userid_index": indexes[number], "external_userid": externals[number],
             "status": "active", "added_at": CREATED, "last_change": "add_external_contact"}
            for number in ids])
        session.execute(insert(Consent), [
            {"customer_id": number, "channel": "wecom", "granted": True, "source": "bench",
             "recorded_at": CREATED} for number in ids])
    content = content_service.create_content(session, actor=ACTOR, data=ContentIn(
        name="会员日", category="promotion", body="本周六会员日，全场第二件半价，欢迎到店"))
    content_service.approve_content(session, actor=ACTOR, content_id=content.id)
    everyone = segment_service.create_segment(session, actor=ACTOR, data=SegmentIn(
        name="全部", rule={"not": {"field": "store", "op": "eq", "value": 999_999}}))
    campaign = campaign_service.create_campaign(session, actor=ACTOR, data=CampaignIn(
        name="会员日群发", channel="wecom_single", audience_kind="segment",
        segment_id=everyone.id, content_id=content.id, schedule_kind="once", send_at=SEND_AT,
        holdout_share=0.0, sender_userid="hq"))
    campaign_service.set_status(session, actor=ACTOR, campaign_id=campaign.id,
                                status=CampaignStatus.ACTIVE)
    return campaign.id


def _reset(session: Session, campaign_id: int) -> None:
    session.execute(update(Delivery).where(Delivery.campaign_id == campaign_id).values(
        status="planned", attempts=0, sent_at=None, message_ref=None, sender_userid=None,
        lease_owner=None, lease_until=None, reason=None, last_error=None))


def _send(factory: sessionmaker[Session], client: WeComClient,
          batch_size: int) -> tuple[SendReport, float]:
    total = SendReport()
    started = time.perf_counter()
    while True:
        report = send_due(factory, client=client, owner="bench",
                          settings=SenderSettings(batch_size=batch_size),
                          clock=lambda: SEND_AT)
        total.add(report)
        if report.claimed == 0:
            return total, time.perf_counter() - started


def run(path: Path, customers: int, staff: int, batch_sizes: list[int]) -> None:
    if path.exists():
        os.remove(path)
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = create_engine(url)
    factory = make_session_factory(writer_engine(engine))
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        campaign_id = _population(session, customers, staff)
    with unit_of_work(factory) as session:
        service.plan_due(session, now=SEND_AT)
        deliveries = Counter(dict(session.execute(
            select(Delivery.status, func.count()).where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.status)).all()))
    print(f"N = {customers:,}: {staff} staff members; population and plan in "
          f"{time.perf_counter() - started:.1f} s: {dict(deliveries)}", flush=True)
    simulator = WeComSimulator(CORP)
    for number in range(1, customers + 1):
        simulator.add_customer(f"wmbench{number:08d}")
    with TestClient(simulator.app) as http:
        client = WeComClient(corp_id=CORP.corp_id, secret=CORP.secret,
                             base_url="http://testserver", http=http, busy_retries=0,
                             sleep=lambda _: None)
        for batch_size in batch_sizes:
            with unit_of_work(factory) as session:
                _reset(session, campaign_id)
            simulator.tasks.clear()
            report, seconds = _send(factory, client, batch_size)
            with unit_of_work(factory) as session:
                load = operator_load(session, actor=ACTOR, week="2026-W50")
            print(f"  batch size {batch_size:,}: {report.sent:,} sent in {seconds:.1f} s, "
                  f"{report.tasks:,} WeCom tasks (simulator: {len(simulator.tasks):,})",
                  flush=True)
            for row in load.staff:
                print(f"    {row.staff_userid}: baseline (one task per delivery) "
                      f"{row.deliveries_sent:,} confirmations; now {row.tasks_to_confirm:,} "
                      f"({row.deliveries_sent / max(row.tasks_to_confirm, 1):,.0f}x fewer); "
                      f"{row.staff_minutes:,.1f} staff minutes at "
                      f"{load.seconds.confirm_task} s a confirmation", flush=True)
            campaign = load.campaigns[0]
            print(f"    campaign: {campaign.confirmations_per_1000_recipients:.2f} "
                  "confirmations per 1,000 recipients (baseline 1,000.00)", flush=True)
            print(f"    week: {load.staff_tasks:,} staff tasks for {load.pool_customers:,} "
                  f"customers, {load.staff_tasks_per_10000_customers or 0:,.2f} per 10,000 "
                  f"customers (baseline {10_000 * report.sent / max(load.pool_customers, 1):,.2f})"
                  f", {load.staff_tasks_per_member_per_day or 0:,.2f} per staff member a day; "
                  f"{(load.scheduled_share or 0):.1%} of touches on schedule", flush=True)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--staff", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--path", type=Path, default=Path("bench_operator_load.db"))
    arguments = parser.parse_args()
    configure_protector(DataProtector.from_master_key(bytes(range(32))))
    for customers in arguments.customers:
        run(arguments.path, customers, arguments.staff, arguments.batch_sizes)
    with open("/proc/loadavg") as handle:
        print(f"load average {' '.join(handle.read().split()[:3])}")


if __name__ == "__main__":
    main()
