"""``yutang groups``: apply pending pool group events (the sweep), judge dead groups."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from yutang.cli_support import CLI_ACTOR, DbOption, console
from yutang.cli_support import database as _database
from yutang.kit.clock import ensure_utc
from yutang.kit.db import make_session_factory, run_in_transaction, writer_engine

if TYPE_CHECKING:
    from yutang.groups.schemas import SyncRead

groups_app = typer.Typer(help="Groups (社群): group events, dead groups.", no_args_is_help=True)


@groups_app.command("sync")
def groups_sync(db: DbOption = None) -> None:
    """Apply every pool group event not applied yet (joins, leaves, messages, red-packet
    claims) from the durable cursor, one transaction per batch; idempotent."""
    read = applied = 0
    with _database(db) as (_, engine):
        factory = make_session_factory(writer_engine(engine))
        position: int | None = None
        while True:
            batch = run_in_transaction(factory, partial(_sweep_batch, after=position))
            read, applied = read + batch.read, applied + batch.applied
            if batch.read == 0:
                break
            position = batch.last_event_id
    console.print(f"{read:,} group events read, {applied:,} applied "
                  "(the rest were applied before or name no known group or customer)")


def _sweep_batch(session: Session, *, after: int | None) -> SyncRead:
    from yutang.groups.sync import sweep

    return sweep(session, after=after)


@groups_app.command("evaluate")
def groups_evaluate(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="ISO moment to judge at (default: now)")] = None,
    db: DbOption = None,
) -> None:
    """Apply the dead-group rule to every open group: mark dead ones, un-mark revived ones."""
    from yutang.groups import service as groups_service

    moment = ensure_utc(datetime.fromisoformat(as_of)) if as_of else None
    with _database(db) as (_, engine):
        result = run_in_transaction(
            make_session_factory(writer_engine(engine)),
            lambda session: groups_service.evaluate(session, actor=CLI_ACTOR, as_of=moment))
    console.print(f"{result.judged:,} groups judged: {result.dead:,} dead "
                  f"({result.newly_dead:,} newly), {result.back_alive:,} alive again")


def register(app: typer.Typer) -> None:
    app.add_typer(groups_app, name="groups")
