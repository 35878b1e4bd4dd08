"""The ``yutang`` command line."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from yutang import (
    cli_analytics,
    cli_campaigns,
    cli_connectors,
    cli_fission,
    cli_groups,
    cli_offers,
    cli_wecom,
)
from yutang.access import service as access_service
from yutang.access.roles import Principal
from yutang.cli_support import CLI_ACTOR, DbOption, console, errors
from yutang.cli_support import database as _database
from yutang.cli_support import settings_for as _settings
from yutang.config import Settings
from yutang.kit.db import is_sqlite, make_session_factory, unit_of_work, writer_engine
from yutang.migrate import ensure_schema, upgrade
from yutang.org import service as org_service
from yutang.org.models import Store
from yutang.org.schemas import StoreCreate
from yutang.pool import service as pool_service

if TYPE_CHECKING:
    pass

app = typer.Typer(help="yutang (鱼塘): your own private-domain traffic pool.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Console users.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for integrators.", no_args_is_help=True)
store_app = typer.Typer(help="Stores.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(store_app, name="store")
customers_app = typer.Typer(help="The customer pool.", no_args_is_help=True)
app.add_typer(customers_app, name="customers")

def _store_or_none(session: Session, code: str | None) -> Store | None:
    return org_service.get_store_by_code(session, code=code) if code else None


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply all migrations."""
    settings = _settings(db)
    upgrade(settings.database_url)
    console.print("[green]database is at the latest revision[/green]")


@store_app.command("create")
def store_create(
    code: Annotated[str, typer.Option("--code")],
    name: Annotated[str, typer.Option("--name")],
    city: Annotated[str, typer.Option("--city")],
    db: DbOption = None,
) -> None:
    """Create a store."""
    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        store = access_service.create_store(
            session, actor=CLI_ACTOR, data=StoreCreate(code=code, name=name, city=city)
        )
        console.print(f"store {store.code} created (id {store.id})")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option("--username")],
    role: Annotated[str, typer.Option("--role", help="owner, hq_operator, store_manager, "
                                      "staff, analyst or auditor")],
    store: Annotated[str | None, typer.Option("--store", help="Store code (store roles).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    db: DbOption = None,
) -> None:
    """Create a console user (asks for the password, or reads it from stdin)."""
    with _database(db) as (_, engine):
        parsed_role = access_service.parse_role(role)
        password = _read_password(password_stdin)
        with unit_of_work(make_session_factory(engine)) as session:
            user = access_service.create_user(
                session, actor=CLI_ACTOR, username=username, password=password,
                role=parsed_role, store=_store_or_none(session, store),
            )
            console.print(f"user {user.username} created ({user.role})")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[str, typer.Option("--role")],
    store: Annotated[str | None, typer.Option("--store")] = None,
    db: DbOption = None,
) -> None:
    """Create an API key; it is printed once and only a hash is kept."""
    with _database(db) as (_, engine):
        parsed_role = access_service.parse_role(role)
        with unit_of_work(make_session_factory(engine)) as session:
            issued = access_service.create_api_key(
                session, actor=CLI_ACTOR, name=name, role=parsed_role,
                store=_store_or_none(session, store),
            )
        errors.print("The key is shown once; store it now:")
        print(issued.key)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    db: DbOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="Server processes (use the cores).")] = 1,
) -> None:
    """Serve the console and the API (migrates an empty or older database first)."""
    settings = _settings(db)
    ensure_schema(settings.database_url)
    _serve(settings, host, port, workers)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from yutang.main import create_served_app

    if workers == 1:
        uvicorn.run(create_served_app(settings), host=host, port=port, log_level="info")
        return
    # Worker processes build their own app from the environment: hand them the settings.
    os.environ["YUTANG_DATABASE_URL"] = settings.database_url
    if settings.data_key:
        os.environ["YUTANG_DATA_KEY"] = settings.data_key
    uvicorn.run("yutang.main:create_served_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


@app.command()
def demo(
    customers: Annotated[int, typer.Option("--customers", min=1)] = 20_000,
    stores: Annotated[int, typer.Option("--stores", min=1, max=999)] = 12,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    db: DbOption = None,
    no_serve: Annotated[bool, typer.Option("--no-serve")] = False,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    wecom_sim: Annotated[bool, typer.Option(
        "--wecom-sim", help="Also run the WeCom simulator: customers keep arriving through "
        "the demo's channel codes as real encrypted callbacks")] = False,
    wecom_sim_port: Annotated[int, typer.Option("--wecom-sim-port")] = 8900,
    arrivals: Annotated[int, typer.Option("--arrivals", min=1,
                                          help="Customers the simulator plays")] = 200,
    arrival_interval: Annotated[float, typer.Option("--arrival-interval", min=0.0)] = 3.0,
    no_analytics: Annotated[bool, typer.Option(
        "--no-analytics", help="Do not refresh analytics after generating (run `yutang "
        "analytics refresh` later; at 1,000,000 customers the refresh takes minutes)")] = False,
) -> None:
    """Generate the demo merchant (deterministic, with planted truth) and serve the console."""
    with _database(db) as (settings, engine):
        login = _generate_demo(engine, settings, customers=customers, stores=stores, seed=seed,
                               analytics=not no_analytics)
        if wecom_sim and not no_serve:
            settings = cli_wecom.start_live_arrivals(
                engine, settings, host=host, port=port, simulator_port=wecom_sim_port,
                customers=arrivals, interval=arrival_interval, seed=seed)
    where = settings.database_url
    if is_sqlite(where):
        where = str(Path(where.split("///", 1)[-1]).resolve())
    console.print(f"database: {where}")
    if login:
        console.print(f"login: [bold]{login[0]}[/bold] / [bold]{login[1]}[/bold]")
    if no_serve:
        return
    console.print(f"console: http://{host}:{port}/console/")
    _serve(settings, host, port)


def _generate_demo(
    engine: Engine, settings: Settings, *, customers: int, stores: int, seed: int,
    analytics: bool,
) -> tuple[str, str] | None:
    from yutang.demo.generator import DemoOptions, generate_demo, stored_demo_login
    from yutang.main import oneid_policy

    with unit_of_work(make_session_factory(engine)) as session:
        existing = pool_service.count_all_customers(session)
    if existing:
        console.print(
            f"[yellow]the database already holds {existing:,} customers; using it as is "
            "(pass --db with a new database, or remove the file, to generate anew)[/yellow]"
        )
        return stored_demo_login(engine)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        options = DemoOptions(customers=customers, stores=stores, seed=seed,
                              oneid=oneid_policy(settings))
        result = generate_demo(engine, options, progress=report)
    console.print(
        f"[green]demo merchant ready[/green] in {time.perf_counter() - started:.1f} s: "
        f"{result.customers:,} customers, {result.orders:,} orders, "
        f"{result.identities:,} identities, {result.stores} stores"
    )
    # The analytics pages read the extract: build it now (the demo's "today" is the day its
    # data ends), so that layers, value, funnel, cohorts and reviews answer at once.
    if analytics:
        cli_analytics.refresh_with_progress(engine, settings, as_of=options.today, full=True)
    return result.login_username, result.login_password


def _actor(session: Session, username: str | None) -> Principal:
    """The CLI acts as the system (an owner) unless told to act as a user."""
    if username is None:
        return CLI_ACTOR
    user = access_service.get_user_by_username(session, username=username)
    return access_service.principal_for_user(user)


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="customers, orders, events or identities; or "
                                        "a platform's order export: taobao, jd, douyin, "
                                        "pinduoduo, youzan (platform: detect)")],
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8 or GBK), .xlsx or .jsonl file")],
    db: DbOption = None,
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Where to list rejected rows (default: FILE.rejects.csv)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Import as this user")] = None,
    preview: Annotated[bool, typer.Option(
        "--preview", help="Platform exports: show the mapping, import nothing")] = False,
) -> None:
    """Import a file; bad rows are listed with their line and reason, good rows go in.

    Importing the same file again changes nothing. Exits 1 if any row was rejected.
    """
    from yutang.connectors.platform_orders.importing import is_platform_kind
    from yutang.main import oneid_policy
    from yutang.pool.import_files import read_rows
    from yutang.pool.imports import ImportKind, import_rows

    if is_platform_kind(kind):
        cli_connectors.import_platform_file(kind, file, db=db, rejects=rejects, as_user=as_user,
                                            preview_only=preview, actor_for=_actor)
        return
    try:
        import_kind = ImportKind(kind)
    except ValueError:
        errors.print(f"[red]error[/red] unknown_import_kind: {kind!r} "
                     "(customers, orders, events or identities)")
        raise typer.Exit(code=2) from None
    with _database(db) as (settings, engine):
        rows = read_rows(file)
        factory = make_session_factory(writer_engine(engine))
        with unit_of_work(make_session_factory(engine)) as session:
            actor = _actor(session, as_user)
        with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(f"{import_kind.value} ← {file.name}", total=len(rows))
            summary = import_rows(
                factory, actor=actor, kind=import_kind, rows=rows,
                policy=oneid_policy(settings),
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    console.print(
        f"{summary.rows:,} rows: [green]{summary.accepted:,} new[/green], "
        f"{summary.updated:,} updated, {summary.unchanged:,} unchanged, "
        f"[red]{len(summary.rejected):,} rejected[/red]"
    )
    if summary.rejected:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        summary.write_rejects(target)
        console.print(f"rejected rows (line, code, message): {target}")
        raise typer.Exit(code=1)


@customers_app.command("export")
def customers_export(
    out: Annotated[Path, typer.Option("--out", help="The .jsonl file to write")],
    reveal: Annotated[bool, typer.Option("--reveal",
                                         help="Personal data in clear (audited)")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited)")] = "cli export",
    as_user: Annotated[str | None, typer.Option("--as", help="Export as this user")] = None,
    db: DbOption = None,
) -> None:
    """One JSON line per customer: id, profile, identities, first touch and store."""
    import json

    from yutang.pool.customer_export import export_lines

    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        actor = _actor(session, as_user)
        lines = export_lines(session, actor=actor, reveal=reveal, reason=reason)
        count = 0
        with out.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
    console.print(f"{count:,} customers written to {out}" + (" (revealed)" if reveal else ""))


oneid_app = typer.Typer(help="OneID: the identity graph.", no_args_is_help=True)
app.add_typer(oneid_app, name="oneid")


@oneid_app.command("rebuild")
def oneid_rebuild(
    check: Annotated[bool, typer.Option("--check", help="Only report; exit 1 if it differs")]
    = False,
    db: DbOption = None,
) -> None:
    """Resolve the whole identity graph in batch and make the pool equal to the result."""
    from yutang.main import oneid_policy
    from yutang.pool.oneid_rebuild import apply_rebuild, plan_rebuild

    with _database(db) as (settings, engine), unit_of_work(
        make_session_factory(writer_engine(engine))
    ) as session:
        policy = oneid_policy(settings)
        plan = (plan_rebuild(session, policy) if check
                else apply_rebuild(session, actor=CLI_ACTOR, policy=policy))
        persons = len(set(plan.persons.values()))
        console.print(
            f"{len(plan.persons):,} identifiers in {persons:,} persons; "
            f"{plan.identities_outside_graph:,} identities outside the graph, "
            f"{len(plan.newly_shared):,} newly shared values, {len(plan.splits):,} customers "
            f"to split, {len(plan.merges):,} groups to merge"
            + ("" if check else " — applied")
        )
        if check and plan.differs:
            raise typer.Exit(code=1)


cli_offers.register(app)
cli_wecom.register(app)
cli_analytics.register(app)
cli_connectors.register(app)
cli_groups.register(app)
cli_fission.register(app)
cli_campaigns.register(app)


def main() -> None:
    app()
