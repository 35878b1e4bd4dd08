"""Fission jobs: ``yutang group-buy expire`` and ``yutang bargains expire`` (run them every
minute) and ``yutang fission sweep`` (referral first orders and pending rewards); each is
idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from yutang.cli_support import DbOption, console
from yutang.cli_support import database as _database
from yutang.kit.db import make_session_factory, unit_of_work, writer_engine

group_buy_app = typer.Typer(help="Group-buy (拼团): fail overdue teams, refund their members.",
                            no_args_is_help=True)
bargains_app = typer.Typer(help="Bargains (砍价): expire overdue bargains.",
                           no_args_is_help=True)
fission_app = typer.Typer(help="Fission: referrals, fission tasks and their rewards.",
                          no_args_is_help=True)

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="The moment to expire at, ISO 8601 with its zone "
                               "(default: now)"),
]


def _moment(now: str | None) -> datetime | None:
    if now is None:
        return None
    try:
        moment = datetime.fromisoformat(now)
    except ValueError as error:
        raise typer.BadParameter(f"not an ISO 8601 time: {now!r}", param_hint="--now") from error
    if moment.tzinfo is None:
        raise typer.BadParameter("give the time with its zone, e.g. 2026-12-01T10:30+08:00",
                                 param_hint="--now")
    return moment


@group_buy_app.command("expire")
def group_buy_expire(now: NowOption = None, db: DbOption = None) -> None:
    """Fail every open team whose time ran out and refund each member once."""
    from yutang.fission import group_buy

    moment = _moment(now)
    with _database(db) as (_, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        result = group_buy.expire_teams(session, now=moment)
    console.print(f"{result.teams_failed:,} teams failed, {result.members_refunded:,} members "
                  f"refunded ({result.refunded_fen:,} fen)")


@bargains_app.command("expire")
def bargains_expire(now: NowOption = None, db: DbOption = None) -> None:
    """Mark open bargains whose time ran out as expired."""
    from yutang.fission import bargain

    moment = _moment(now)
    with _database(db) as (_, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        result = bargain.expire_bargains(session, now=moment)
    console.print(f"{result.bargains_expired:,} bargains expired")


@fission_app.command("sweep")
def fission_sweep(db: DbOption = None) -> None:
    """Move referral edges whose referee's first order came in (orders after a durable
    cursor, and watched unpaid orders), and grant rewards still pending (run it every few
    minutes)."""
    from yutang.fission import referral_service

    with _database(db) as (_, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        result = referral_service.sweep(session)
    console.print(f"{result.orders_read:,} orders read, {result.first_orders:,} first orders "
                  f"({result.watched_settled:,} of watched orders), "
                  f"{result.rewards_granted:,} pending rewards granted")


def register(app: typer.Typer) -> None:
    app.add_typer(group_buy_app, name="group-buy")
    app.add_typer(bargains_app, name="bargains")
    app.add_typer(fission_app, name="fission")
