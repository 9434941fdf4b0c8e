"""Writer transactions through make_engine: on SQLite, this process's writers queue on one lock per
database file (taken before BEGIN IMMEDIATE, given back however the transaction ends); PostgreSQL
is untouched."""

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.core.db import make_engine, sqlite_url, writer, writer_lock
from tests.conftest import POSTGRES_URL

THREADS = 16
PER_THREAD = 10
INSERT = text("INSERT INTO writer_probe (who) VALUES (:w)")
COUNT = text("SELECT count(*) FROM writer_probe")

sqlite_only = pytest.mark.sqlite_only  # the PostgreSQL pass deselects these


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "writers.sqlite3"


@pytest.fixture
def sqlite_engine(sqlite_file: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(sqlite_file), pool_size=THREADS, max_overflow=0)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE writer_probe (id INTEGER PRIMARY KEY, who TEXT NOT NULL)"
        )
    yield engine
    engine.dispose()


def short_busy_timeout(engine: Engine, ms: int = 200) -> None:
    """Runs after make_engine's own connect listener, so new connections give up quickly."""

    @event.listens_for(engine, "connect")
    def _short(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"PRAGMA busy_timeout={ms}")

    engine.dispose()


def hammer(engine: Engine, check: object = None, *, via: str = "writer") -> list[BaseException]:
    """THREADS threads each commit PER_THREAD transactions that write: writer transactions
    (BEGIN IMMEDIATE), or with via="reader" plain-BEGIN ones; returns what they raised."""
    bind = writer(engine) if via == "writer" else engine
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                with Session(bind) as session:
                    session.execute(INSERT, {"w": f"{n}.{i}"})
                    if callable(check):
                        check()
                    session.commit()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer never finished"
    return failures


@sqlite_only
def test_concurrent_writers_all_commit_and_hold_the_queue_while_writing(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))

    def holds_the_queue() -> None:
        assert queue.lock.locked()
        assert queue.owner == threading.get_ident()

    assert hammer(sqlite_engine, holds_the_queue) == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == THREADS * PER_THREAD
    assert not queue.lock.locked()


@sqlite_only
def test_plain_transactions_that_write_join_the_queue_at_their_first_write(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    # The module reader's short write of the reading position runs on the reader engine.
    queue = writer_lock(str(sqlite_file))
    with Session(sqlite_engine) as session:
        assert session.execute(COUNT).scalar_one() == 0
        assert not queue.lock.locked()
        session.execute(INSERT, {"w": "a late writer"})
        assert queue.owner == threading.get_ident()
        session.execute(INSERT, {"w": "its second write"})
        session.commit()
    assert not queue.lock.locked()

    def holds_the_queue() -> None:
        assert queue.owner == threading.get_ident()

    assert hammer(sqlite_engine, holds_the_queue, via="reader") == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 2 + THREADS * PER_THREAD
    assert not queue.lock.locked()


@sqlite_only
def test_one_lock_per_file_however_it_is_named(sqlite_file: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    other_name = tmp_path / "sub" / ".." / sqlite_file.name
    assert writer_lock(str(sqlite_file)) is writer_lock(str(other_name))
    assert writer_lock(str(sqlite_file)) is not writer_lock(str(tmp_path / "another.sqlite3"))


@sqlite_only
def test_an_exception_inside_the_transaction_gives_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))

    def failing_route() -> None:
        with Session(writer(sqlite_engine)) as session:
            session.execute(INSERT, {"w": "doomed"})
            assert queue.lock.locked()
            raise RuntimeError("the route failed")

    def failing_command() -> None:
        with writer(sqlite_engine).begin() as conn:
            conn.execute(INSERT, {"w": "doomed too"})
            raise RuntimeError("the command failed")

    with pytest.raises(RuntimeError):
        failing_route()
    assert not queue.lock.locked()
    with pytest.raises(RuntimeError):
        failing_command()
    assert not queue.lock.locked()
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 0
    assert hammer(sqlite_engine) == []  # and the queue still works


@sqlite_only
def test_a_failed_sql_statement_and_rollback_give_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))
    with Session(writer(sqlite_engine)) as session:
        with pytest.raises(OperationalError):
            session.execute(text("INSERT INTO no_such_table VALUES (1)"))
        session.rollback()
        assert not queue.lock.locked()
        session.execute(INSERT, {"w": "after rollback"})
        assert queue.lock.locked()
    assert not queue.lock.locked()  # closed without commit: the pool's rollback


@sqlite_only
def test_savepoints_do_not_take_the_lock_again(sqlite_engine: Engine, sqlite_file: Path) -> None:
    queue = writer_lock(str(sqlite_file))
    with Session(writer(sqlite_engine)) as session:
        session.execute(INSERT, {"w": "outer"})
        for n in range(3):
            with session.begin_nested():
                session.execute(INSERT, {"w": f"inner {n}"})
        try:
            with session.begin_nested():
                session.execute(INSERT, {"w": "rolled back"})
                raise ValueError
        except ValueError:
            pass
        assert queue.lock.locked()
        session.commit()
    assert not queue.lock.locked()
    with sqlite_engine.connect() as conn:
        assert conn.execute(COUNT).scalar_one() == 4


@sqlite_only
def test_a_failed_begin_gives_the_lock_back(sqlite_engine: Engine, sqlite_file: Path) -> None:
    # Another process holds SQLite's write lock: BEGIN IMMEDIATE times out in the busy handler.
    short_busy_timeout(sqlite_engine)
    queue = writer_lock(str(sqlite_file))
    other = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"), writer(sqlite_engine).begin():
            pass
        assert not queue.lock.locked()
    finally:
        other.execute("ROLLBACK")
        other.close()
    with writer(sqlite_engine).begin() as conn:
        conn.execute(INSERT, {"w": "after the other process"})
    assert not queue.lock.locked()


@sqlite_only
def test_a_second_writer_in_the_same_thread_fails_as_before_instead_of_hanging(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    # Waiting on our own lock would hang for the whole timeout; SQLite's short wait fails it.
    short_busy_timeout(sqlite_engine)
    queue = writer_lock(str(sqlite_file))
    with writer(sqlite_engine).begin() as first:
        first.execute(INSERT, {"w": "first"})
        with pytest.raises(OperationalError, match="locked"), writer(sqlite_engine).begin():
            pass
        assert queue.lock.locked()
    assert not queue.lock.locked()


@sqlite_only
def test_an_invalidated_connection_gives_the_lock_back(
    sqlite_engine: Engine, sqlite_file: Path
) -> None:
    queue = writer_lock(str(sqlite_file))
    conn = writer(sqlite_engine).connect()
    conn.begin()
    conn.execute(INSERT, {"w": "lost"})
    assert queue.lock.locked()
    conn.invalidate()  # the DBAPI connection is closed, its transaction with it
    assert not queue.lock.locked()
    conn.close()
    assert hammer(sqlite_engine) == []


@sqlite_only
def test_readers_do_not_take_the_lock(sqlite_engine: Engine, sqlite_file: Path) -> None:
    queue = writer_lock(str(sqlite_file))
    with writer(sqlite_engine).begin() as w:
        w.execute(INSERT, {"w": "writing"})
        with Session(sqlite_engine) as reader:  # WAL: reads beside the writer, no queue
            assert reader.execute(COUNT).scalar_one() == 0
        assert queue.owner == threading.get_ident()


@pytest.mark.postgres_only
def test_postgres_writers_are_unchanged() -> None:
    """No SQLite queue, no BEGIN IMMEDIATE: concurrent writer sessions are plain transactions."""
    assert POSTGRES_URL is not None
    engine = make_engine(POSTGRES_URL)
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS writer_probe")
            conn.exec_driver_sql("CREATE TABLE writer_probe (id serial PRIMARY KEY, who text)")
        assert not engine.dispatch.begin  # make_engine adds no transaction hooks here
        assert hammer(engine) == []
        with engine.connect() as conn:
            count = conn.execute(COUNT).scalar_one()
        assert count == THREADS * PER_THREAD
        assert not [s for s in seen if "IMMEDIATE" in s.upper()]
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS writer_probe")
        engine.dispose()
