"""Shared fixtures: one migrated database per run (SQLite, or PostgreSQL when
LMS_TEST_POSTGRES_URL is set), a rolled-back transaction per test, and an app client."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import make_engine, sqlite_url, upgrade_to_head
from app.core.deps import LazySession, get_lazy_session, get_read_session, get_session
from app.core.settings import Settings
from app.main import create_app

POSTGRES_URL = os.getenv("LMS_TEST_POSTGRES_URL")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: runs in the SQLite pass of make test only")
    config.addinivalue_line("markers", "postgres_only: runs in the PostgreSQL pass only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one dialect's behaviour are deselected (not skipped) in the other pass: make test
    runs both passes, so each such test runs exactly once."""
    other = "sqlite_only" if POSTGRES_URL else "postgres_only"
    dropped = [item for item in items if item.get_closest_marker(other)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker(other)]


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return POSTGRES_URL or sqlite_url(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)  # the real migrations, so they are tested too
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as s:
            yield s  # a route's commit() only releases a savepoint
        outer.rollback()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        base_url="http://testserver",
        content_dir=tmp_path / "content",
    )


@pytest.fixture
def app(settings: Settings, session: Session):  # type: ignore[no-untyped-def]
    application = create_app(settings)

    def _session() -> Iterator[Session]:
        try:
            yield session
        finally:
            # Production closes the session, rolling back whatever was not committed.
            session.rollback()

    application.dependency_overrides[get_session] = _session
    application.dependency_overrides[get_read_session] = _session

    def _lazy_session() -> Iterator[LazySession]:
        try:
            yield LazySession.bound_to(session)
        finally:
            session.rollback()

    application.dependency_overrides[get_lazy_session] = _lazy_session
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
