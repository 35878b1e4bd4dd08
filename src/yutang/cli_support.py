"""What the ``yutang`` commands share: the consoles, the ``--db`` option, the actor, and the
database context that turns domain errors into exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from yutang.access.roles import Principal
from yutang.config import Settings, get_settings
from yutang.kit.errors import DomainError
from yutang.migrate import ensure_schema
from yutang.reactions import install_all as install_reactions
from yutang.runtime import configure_data_protection, engine_for

CLI_ACTOR = Principal.system("cli")
console = Console()
errors = Console(stderr=True)
DbOption = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: YUTANG_DATABASE_URL).")
]


def settings_for(db: str | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"database_url": db}) if db else settings


def fail(error: DomainError) -> NoReturn:
    errors.print(f"[red]error[/red] {error.code}: {error.message}")
    raise typer.Exit(code=2)


@contextmanager
def database(db: str | None) -> Iterator[tuple[Settings, Engine]]:
    """Keys configured, schema migrated, an engine; domain errors become exit code 2."""
    settings = settings_for(db)
    configure_data_protection(settings)
    install_reactions()
    ensure_schema(settings.database_url)
    engine = engine_for(settings)
    try:
        yield settings, engine
    except DomainError as error:
        fail(error)
    finally:
        engine.dispose()
