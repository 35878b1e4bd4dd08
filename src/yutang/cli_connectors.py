"""``yutang official-account`` and ``yutang webhooks``: connector settings from the shell;
and the platform order files of ``yutang import`` (Taobao/Tmall, JD, Douyin, Pinduoduo,
Youzan exports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from yutang.access.roles import Principal
from yutang.cli_support import CLI_ACTOR, DbOption, console, errors
from yutang.cli_support import database as _database
from yutang.kit.db import make_session_factory, unit_of_work, writer_engine

official_account_app = typer.Typer(help="WeChat Official Account (公众号): server settings.",
                                   no_args_is_help=True)
webhooks_app = typer.Typer(help="Signed webhooks of mini-programs, apps and POS systems.",
                           no_args_is_help=True)


@official_account_app.command("configure")
def official_account_configure(
    app_id: Annotated[str, typer.Option("--app-id", help="The AppID (wx…)")],
    token: Annotated[str, typer.Option("--token", help="The server Token")],
    secret: Annotated[str, typer.Option("--secret", help="The AppSecret")],
    aes_key: Annotated[str, typer.Option(
        "--aes-key", help="The 43-character EncodingAESKey (safe and compatible modes)")] = "",
    mode: Annotated[str | None, typer.Option(
        "--mode", help="plaintext, compatible or safe (default: safe with a key)")] = None,
    db: DbOption = None,
) -> None:
    """Store the account's token, EncodingAESKey and AppSecret (encrypted at rest)."""
    from yutang.connectors.official_account import service
    from yutang.connectors.official_account.schemas import AccountConfigIn

    data = AccountConfigIn(app_id=app_id, token=token, encoding_aes_key=aes_key,
                           secret=secret, mode=mode)
    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        account = service.configure_account(session, actor=CLI_ACTOR, data=data)
        console.print(f"Official Account {account.app_id} configured ({account.mode} mode); "
                      "server URL: https://<your host>/connectors/official-account/callback")


@webhooks_app.command("add-source")
def webhooks_add_source(
    name: Annotated[str, typer.Argument(help="The source's name, e.g. miniprogram")],
    db: DbOption = None,
) -> None:
    """Create a source; its signing secret is printed once (only stored encrypted)."""
    from yutang.connectors.webhooks import service

    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        issued = service.add_source(session, actor=CLI_ACTOR, name=name)
    errors.print(f"Source {issued.name}: POST /connectors/webhooks/{issued.name}/events "
                 "and /orders. The secret is shown once; store it now:")
    print(issued.secret)


@webhooks_app.command("list")
def webhooks_list(db: DbOption = None) -> None:
    """The sources, their secrets masked."""
    from yutang.connectors.webhooks import service

    with _database(db) as (_, engine), unit_of_work(make_session_factory(engine)) as session:
        for source in service.list_sources(session, actor=CLI_ACTOR):
            console.print(f"{source.name}\t{source.secret}\t"
                          f"{'active' if source.is_active else 'inactive'}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(official_account_app, name="official-account")
    app.add_typer(webhooks_app, name="webhooks")



def import_platform_file(
    kind: str, file: Path, *, db: str | None, rejects: Path | None, as_user: str | None,
    preview_only: bool, actor_for: Callable[[Session, str | None], Principal],
) -> None:
    """``yutang import taobao|jd|douyin|pinduoduo|youzan|platform FILE``: a platform's order
    export through the order import (``--preview`` shows the mapping and imports nothing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from yutang.connectors.platform_orders import importing
    from yutang.main import oneid_policy

    with _database(db) as (settings, engine):
        read = importing.read_export(file.read_bytes(), file.name, kind)
        shown = importing.preview(read)
        console.print(f"{file.name}: {shown.platform_name} ({shown.platform}), "
                      f"{shown.encoding}, header on line {shown.header_line}, "
                      f"{shown.rows:,} rows → {shown.orders:,} orders", highlight=False)
        for role, header in shown.columns.items():
            console.print(f"  {role:<16} ← {header}", highlight=False)
        if shown.missing:
            console.print(f"  not in this file: {', '.join(shown.missing)}", highlight=False)
        if preview_only:
            for order in shown.sample:
                console.print(
                    f"  line {order.lines[0]:>5}  {order.external_order_id}  "
                    f"{'/'.join(order.status_words)} → {order.status}  paid {order.paid}  "
                    f"total {order.total}  items {order.items}  "
                    f"{', '.join(order.identities) or '-'}", highlight=False)
            for line, code, message in shown.rejected[:20]:
                console.print(f"  [red]line {line} {code}[/red]: {message}", highlight=False)
            if shown.masked_phones:
                console.print(f"  {shown.masked_phones:,} masked phones left out (never "
                              "identities)", highlight=False)
            return
        factory = make_session_factory(writer_engine(engine))
        with unit_of_work(make_session_factory(engine)) as session:
            actor = actor_for(session, as_user)
        with Progress(TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(),
                      console=console) as progress:
            task = progress.add_task(f"{shown.platform} ← {file.name}", total=shown.orders)
            result = importing.import_export(
                factory, actor=actor, read=read, policy=oneid_policy(settings),
                progress=lambda done, total: progress.update(task, completed=done, total=total))
    summary = result.summary
    console.print(
        f"{summary.rows:,} rows: [green]{summary.accepted:,} new orders[/green], "
        f"{summary.updated:,} moved on, {summary.unchanged:,} unchanged, "
        f"[red]{len(summary.rejected):,} rejected[/red]")
    if summary.rejected:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        importing.write_rejects(result, target)
        console.print(f"rejected rows (line, code, message, the row): {target}")
        raise typer.Exit(code=1)
