"""``yutang campaigns``: plan what is due, run the sender, create follow-up tasks."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from yutang.cli_support import DbOption, console
from yutang.cli_support import database as _database
from yutang.kit.db import make_session_factory, run_in_transaction, writer_engine

campaigns_app = typer.Typer(help="Campaigns: planning and the sender.", no_args_is_help=True)


@campaigns_app.command("plan")
def campaigns_plan(db: DbOption = None) -> None:
    """Plan every due run of every active campaign (idempotent)."""
    from yutang.campaigns import service

    with _database(db) as (_, engine):
        factory = make_session_factory(writer_engine(engine))
        planned = run_in_transaction(factory, lambda session: service.plan_due(session))
    for summary in planned:
        console.print(f"run {summary.run_id} ({summary.occurrence}): {summary.planned:,} "
                      f"planned, {summary.holdout:,} holdout, {summary.suppressed:,} "
                      f"suppressed {summary.suppressed_by}", highlight=False)
    console.print(f"{len(planned)} run(s) planned")


@campaigns_app.command("run")
def campaigns_run(
    db: DbOption = None,
    once: Annotated[bool, typer.Option("--once", help="Stop when nothing is due.")] = False,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 1_000,
    lease_seconds: Annotated[int, typer.Option("--lease-seconds")] = 120,
    poll_seconds: Annotated[float, typer.Option("--poll-seconds")] = 5.0,
    max_attempts: Annotated[int, typer.Option("--max-attempts")] = 5,
    corp_id: Annotated[str | None, typer.Option("--corp-id")] = None,
) -> None:
    """The sender: plans due runs, claims deliveries in batches under a lease and sends them
    through WeCom (``YUTANG_WECOM_BASE_URL``), each exactly once."""
    from yutang.campaigns import sender, service
    from yutang.connectors.wecom import service as wecom_service
    from yutang.connectors.wecom.client import WeComClient
    from yutang.kit.db import unit_of_work

    with _database(db) as (settings, engine):
        factory = make_session_factory(writer_engine(engine))
        with unit_of_work(factory) as session:
            keys = wecom_service.corp_keys(session, corp_id=corp_id)
        client = WeComClient(corp_id=keys.corp_id, secret=keys.secret,
                             base_url=settings.wecom_base_url)
        owner = f"{socket.gethostname()}:{os.getpid()}"
        report = sender.run_worker(
            factory, client=client, owner=owner, once=once, poll_seconds=poll_seconds,
            settings=sender.SenderSettings(batch_size=batch_size, lease_seconds=lease_seconds,
                                           max_attempts=max_attempts),
            plan=lambda: len(run_in_transaction(factory, lambda s: service.plan_due(s))))
    console.print(f"{report.sent:,} sent, {report.failed:,} failed, {report.suppressed:,} "
                  f"suppressed at send, {report.retried:,} to retry, {report.released:,} "
                  f"claims released, {report.unknown:,} outcomes unknown", highlight=False)


@campaigns_app.command("follow-ups")
def campaigns_follow_ups(db: DbOption = None) -> None:
    """Create the follow-up (回访) tasks every active rule calls for now (idempotent)."""
    from yutang.campaigns import follow_ups
    from yutang.cli_support import CLI_ACTOR

    with _database(db) as (_, engine):
        factory = make_session_factory(writer_engine(engine))
        report = run_in_transaction(
            factory, lambda session: follow_ups.generate_tasks(session, actor=CLI_ACTOR))
    for rule_id, count in report.created.items():
        console.print(f"rule {rule_id}: {count:,} task(s) created", highlight=False)
    console.print(f"{sum(report.created.values()):,} created, {report.unassigned:,} "
                  "without a staff member to assign", highlight=False)


@campaigns_app.command("moments-expire")
def campaigns_moments_expire(db: DbOption = None) -> None:
    """Expire the Moments (朋友圈) posts still pending past their task's due time
    (idempotent)."""
    from yutang.campaigns import moments
    from yutang.cli_support import CLI_ACTOR

    with _database(db) as (_, engine):
        factory = make_session_factory(writer_engine(engine))
        expired = run_in_transaction(
            factory, lambda session: moments.expire_overdue(session, actor=CLI_ACTOR))
    console.print(f"{expired:,} Moments post(s) expired", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(campaigns_app, name="campaigns")
