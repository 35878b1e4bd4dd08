"""``yutang clv``, ``yutang analytics refresh`` and ``yutang report``."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine

from yutang.cli_support import CLI_ACTOR, DbOption, console, errors
from yutang.cli_support import database as _database
from yutang.config import Settings
from yutang.kit.db import make_session_factory, unit_of_work, writer_engine
from yutang.kit.errors import DomainError


def clv(
    transactions: Annotated[Path, typer.Option(
        "--transactions", help="CSV with the columns customer_id,date,amount")],
    observation_end: Annotated[str | None, typer.Option(
        "--observation-end", help="YYYY-MM-DD (default: the last date in the file)")] = None,
    unit: Annotated[str, typer.Option("--unit", help="day or week (T, recency in days/7)")]
    = "week",
    predict_periods: Annotated[float, typer.Option(
        "--predict-periods", min=0, help="Horizon of expected purchases, in units")] = 39,
    clv_months: Annotated[int, typer.Option("--clv-months", min=1)] = 12,
    monthly_discount: Annotated[float, typer.Option("--monthly-discount", min=0)] = 0.01,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write one row per customer to this CSV")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the parameters as JSON")]
    = False,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to a transactions file; P(alive), purchases and CLV."""
    import json

    from yutang.analytics.clv_tool import (
        ClvOptions,
        parse_observation_end,
        parse_time_unit,
        run_clv,
    )

    try:
        options = ClvOptions(
            observation_end=parse_observation_end(observation_end) if observation_end else None,
            unit=parse_time_unit(unit), predict_periods=predict_periods,
            clv_months=clv_months, monthly_discount=monthly_discount,
        )
        with errors.status("reading the transactions") as status:
            result = run_clv(transactions, options, progress=status.update)
    except DomainError as error:
        errors.print(f"error {error.code}: {error.message}", markup=False, highlight=False,
                     soft_wrap=True)
        raise typer.Exit(code=2) from None
    if out is not None:
        result.write_table(out)
    if as_json:
        print(json.dumps(result.as_json()))
        return
    purchases, spend = result.purchases, result.spend
    console.print(f"{result.customers:,} customers observed to "
                  f"{result.observation_end.isoformat()}, time in {options.unit.value}s")
    for label, fit, names in (("BG/NBD", purchases, ("r", "alpha", "a", "b")),
                              ("Gamma-Gamma", spend, ("p", "q", "v"))):
        shown = ", ".join(f"{name} = {getattr(fit.parameters, name):.6g} "
                          f"(± {getattr(fit.standard_errors, name):.3g})" for name in names)
        console.print(f"{label}: {shown}; log-likelihood {fit.log_likelihood:,.2f}",
                      soft_wrap=True, highlight=False)
    if out is not None:
        console.print(f"per-customer table: {out}")


analytics_app = typer.Typer(help="Analytics: the columnar extract, layers, metrics.",
                            no_args_is_help=True)


def _local_date_option(text: str | None, option: str) -> date:
    from datetime import date as date_type

    from yutang.analytics.errors import BadReportDate
    from yutang.kit.clock import to_local, utcnow

    if text is None:
        return to_local(utcnow()).date()
    try:
        return date_type.fromisoformat(text.strip())
    except ValueError:
        raise BadReportDate(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


@analytics_app.command("refresh")
def analytics_refresh(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Layers as of the start of this local day (default: today)")] = None,
    full: Annotated[bool, typer.Option("--full", help="Rebuild the extract from scratch")]
    = False,
    engine_name: Annotated[str | None, typer.Option(
        "--engine", help="duckdb or spark (default: YUTANG_ANALYTICS_ENGINE)")] = None,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Extract directory (default: YUTANG_ANALYTICS_DIR)")] = None,
    db: DbOption = None,
) -> None:
    """Bring the Parquet extract up to date (incremental), compute layers, write them back."""
    with _database(db) as (settings, engine):
        refresh_with_progress(engine, settings, as_of=_local_date_option(as_of, "--as-of"),
                              full=full, engine_name=engine_name, directory=directory)


def refresh_with_progress(engine: Engine, settings: Settings, *, as_of: date,
                          full: bool = False, engine_name: str | None = None,
                          directory: Path | None = None) -> None:
    """Refresh the analytics of ``engine``'s database with a progress bar, and say what it
    did (``yutang analytics refresh``, and ``yutang demo`` once the merchant is generated)."""
    from yutang.analytics.refresh import EngineChoice, refresh_analytics
    from yutang.analytics.service import AnalyticsSetup

    setup = AnalyticsSetup.from_settings(settings)
    choice = EngineChoice(name=engine_name or settings.analytics_engine,
                          spark_master=settings.analytics_spark_master)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress, unit_of_work(make_session_factory(writer_engine(engine))) as session:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        result = refresh_analytics(
            session, actor=CLI_ACTOR, directory=directory or setup.directory,
            timezone=setup.timezone, engine=choice, policy=setup.policy,
            as_of=as_of, full=full, progress=report)
    console.print(
        f"[green]analytics refreshed[/green] in {time.perf_counter() - started:.1f} s on "
        f"{result.engine}: {result.extract.total_added:,} rows extracted"
        f"{' (full)' if result.extract.full else ''}; {result.customers_layered:,} customers "
        f"layered as of {result.as_of.isoformat()}, {result.layers_changed:,} changed")


def report(
    kind: Annotated[str, typer.Argument(help="daily, weekly or monthly")],
    day: Annotated[str, typer.Option("--date", help="A day in the period (YYYY-MM-DD)")],
    out: Annotated[Path, typer.Option("--out", help="FILE.xlsx or FILE.html")],
    store: Annotated[str | None, typer.Option("--store", help="Only this store (its code)")]
    = None,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Extract directory (default: YUTANG_ANALYTICS_DIR)")] = None,
    db: DbOption = None,
) -> None:
    """A review (日/周/月复盘): each figure against the previous period, as Excel or HTML."""
    from yutang.analytics.report import make_report
    from yutang.analytics.service import AnalyticsSetup

    with _database(db) as (settings, engine), unit_of_work(
            make_session_factory(engine)) as session:
        try:
            setup = AnalyticsSetup.from_settings(settings)
            review = make_report(
                session, kind=kind, day=day, store_code=store, out=out,
                directory=directory or setup.directory, engine=setup.engine,
                policy=setup.policy, funnel_window_hours=setup.funnel_window_hours)
        except DomainError as error:
            errors.print(f"error {error.code}: {error.message}", markup=False,
                         highlight=False, soft_wrap=True)
            raise typer.Exit(code=2) from None
    console.print(f"{review.kind.value} review {review.period.label} "
                  f"(vs {review.previous.label}) written to {out}")


def register(app: typer.Typer) -> None:
    app.command("clv")(clv)
    app.add_typer(analytics_app, name="analytics")
    app.command("report")(report)
