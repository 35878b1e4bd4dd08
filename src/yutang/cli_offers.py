"""``yutang offers``: membership regrading, the daily reconciliation, the sweep."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from yutang.cli_support import CLI_ACTOR, DbOption, console, errors
from yutang.cli_support import database as _database
from yutang.kit.db import make_session_factory, unit_of_work, writer_engine

if TYPE_CHECKING:
    pass


offers_app = typer.Typer(help="Offers: membership, points, coupons and stored value.",
                         no_args_is_help=True)


@offers_app.command("regrade")
def offers_regrade(db: DbOption = None) -> None:
    """Grade every member by trailing-12-month spend or points (writes tier history)."""
    from yutang.offers import service as offers_service

    with _database(db) as (_, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        result = offers_service.regrade(session, actor=CLI_ACTOR)
    console.print(f"{result.customers:,} members graded: {result.changed:,} changed, "
                  f"{result.super_users:,} super users")


@offers_app.command("reconcile")
def offers_reconcile(
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD (Asia/Shanghai)")],
    db: DbOption = None,
) -> None:
    """The daily stored-value reconciliation; exits 1 if the books do not reconcile."""

    from yutang.offers import service as offers_service
    from yutang.offers.errors import InvalidReconciliationDate

    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        try:
            parsed = date.fromisoformat(day)
        except ValueError as error:
            raise InvalidReconciliationDate("give the day as YYYY-MM-DD", day=day) from error
        report = offers_service.reconcile(session, actor=CLI_ACTOR, day=parsed)
    console.print(f"stored value on {report.day.isoformat()}: opening "
                  f"{report.opening_principal_fen + report.opening_bonus_fen:,} fen, closing "
                  f"{report.closing_principal_fen + report.closing_bonus_fen:,} fen "
                  f"(principal {report.closing_principal_fen:,}, "
                  f"bonus {report.closing_bonus_fen:,})", highlight=False)
    for line in report.movements:
        console.print(f"  {line.kind:<14} principal {line.principal_fen:+,} "
                      f"bonus {line.bonus_fen:+,}", highlight=False)
    console.print(f"customer liabilities {report.customer_liabilities_fen:,} fen = merchant "
                  f"side {report.merchant_side_fen:,} fen; unbalanced transactions "
                  f"{len(report.unbalanced_transactions)}, balance mismatches "
                  f"{len(report.balance_mismatches)}, negative balances "
                  f"{len(report.negative_balances)}", highlight=False)
    if not report.ok:
        errors.print("[red]the books do not reconcile[/red]")
        raise typer.Exit(code=1)
    console.print("[green]reconciled[/green]")


@offers_app.command("sweep")
def offers_sweep(db: DbOption = None) -> None:
    """Expire coupons and points, release coupons of refunded orders, grant welcome coupons
    for recent contacts and group joins (idempotent; run it every few minutes)."""
    from yutang.offers import service as offers_service

    with _database(db) as (_, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        result = offers_service.sweep(session, actor=CLI_ACTOR)
    console.print(f"{result.coupons_expired:,} coupons expired, {result.coupons_released:,} "
                  f"released, {result.points_expired:,} points expired, "
                  f"{result.welcome_coupons:,} welcome coupons granted")


def register(app: typer.Typer) -> None:
    app.add_typer(offers_app, name="offers")
