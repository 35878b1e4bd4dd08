"""The command line: stores, users (password from stdin), API keys, clear errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from yutang.access import service as access_service
from yutang.access.models import ApiKey, User
from yutang.cli import app
from yutang.config import get_settings
from yutang.kit.db import create_engine, make_session_factory, unit_of_work
from yutang.org.models import Store

runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("YUTANG_DATABASE_URL", url)
    monkeypatch.setenv("YUTANG_DATA_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_store_user_and_key_from_the_command_line(cli_db: str) -> None:
    created = runner.invoke(app, ["store", "create", "--code", "SH01", "--name", "徐汇店",
                                  "--city", "上海"])
    assert created.exit_code == 0, created.output
    user = runner.invoke(app, ["user", "create", "--username", "wang", "--role", "staff",
                               "--store", "SH01", "--password-stdin"],
                         input="a-long-password\n")
    assert user.exit_code == 0, user.output
    key = runner.invoke(app, ["apikey", "create", "--name", "pos", "--role", "staff",
                              "--store", "SH01"])
    assert key.exit_code == 0, key.output
    printed = [line for line in key.stdout.splitlines() if line.startswith("yt_")]
    assert len(printed) == 1

    engine = create_engine(cli_db)
    with unit_of_work(make_session_factory(engine)) as session:
        store = session.scalars(select(Store)).one()
        wang = session.scalars(select(User)).one()
        assert (wang.username, wang.role, wang.store_id) == ("wang", "staff", store.id)
        assert "a-long-password" not in wang.password_hash
        principal = access_service.authenticate_api_key(session, key=printed[0])
        assert principal.store_id == store.id
        stored = session.scalars(select(ApiKey)).one()
        assert printed[0] not in (stored.secret_hash, stored.prefix)
    engine.dispose()


def test_bad_input_is_refused_with_a_code_and_nothing_written(cli_db: str) -> None:
    no_store = runner.invoke(app, ["user", "create", "--username", "x", "--role", "staff",
                                   "--password-stdin"], input="a-long-password\n")
    assert no_store.exit_code == 2
    assert "store_required" in no_store.output
    bad_role = runner.invoke(app, ["apikey", "create", "--name", "k", "--role", "boss"])
    assert bad_role.exit_code == 2
    assert "invalid_role" in bad_role.output
    unknown_store = runner.invoke(app, ["user", "create", "--username", "y", "--role", "staff",
                                        "--store", "NOPE", "--password-stdin"],
                                  input="a-long-password\n")
    assert unknown_store.exit_code == 2
    assert "store_not_found" in unknown_store.output
    runner.invoke(app, ["store", "create", "--code", "A", "--name", "a", "--city", "b"])
    duplicate = runner.invoke(app, ["store", "create", "--code", "A", "--name", "a",
                                    "--city", "b"])
    assert duplicate.exit_code == 2 and "store_code_taken" in duplicate.output
    engine = create_engine(cli_db)
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(User)) == 0
        assert connection.scalar(select(func.count()).select_from(ApiKey)) == 0
        assert connection.scalar(select(func.count()).select_from(Store)) == 1
    engine.dispose()
