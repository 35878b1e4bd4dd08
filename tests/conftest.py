"""Shared fixtures: a migrated real database per backend (SQLite and PostgreSQL), rolled back
per test; the app bound to the same connection; principals of every role."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.postgres import create_database, postgres_server
from yutang.config import Settings
from yutang.kit.clock import set_now_source
from yutang.kit.crypto import DataProtector, configure_protector
from yutang.kit.db import create_engine
from yutang.migrate import upgrade

TEST_DATA_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session", autouse=True)
def _data_protection() -> None:
    configure_protector(DataProtector.from_master_key(base64.urlsafe_b64decode(TEST_DATA_KEY)))


@pytest.fixture(autouse=True)
def _restore_clock() -> Iterator[None]:
    yield
    set_now_source(None)


@pytest.fixture(scope="session")
def postgres_base_url() -> Iterator[str]:
    external = os.environ.get("YUTANG_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    with postgres_server() as url:
        yield url


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "yutang-test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url(postgres_base_url: str) -> str:
    url = create_database(postgres_base_url, f"yutang_test_{_worker()}")
    upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{backend}_url"))


@pytest.fixture
def fresh_database_url(backend: str, request: pytest.FixtureRequest,
                       tmp_path: Path) -> str:
    """A database of its own, migrated, for tests that commit (concurrency, crashes, bulk)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        base = str(request.getfixturevalue("postgres_base_url"))
        url = create_database(base, f"yutang_fresh_{_worker()}")
    upgrade(url)
    return url


_engines: dict[str, Engine] = {}


@pytest.fixture
def engine(database_url: str) -> Engine:
    if database_url not in _engines:
        _engines[database_url] = create_engine(database_url)
    return _engines[database_url]


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection per test inside an outer transaction that is rolled back at the end."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_key=TEST_DATA_KEY,
                    data_key_file=tmp_path / "unused.key")


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> FastAPI:
    from yutang.main import create_app  # imported late: the web layer is optional for unit tests

    application = create_app(settings, engine=engine)
    application.state.session_factory = session_factory
    application.state.writer_session_factory = session_factory
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
