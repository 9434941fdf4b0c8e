"""The audit chain's append reads only the newest entry, whatever the chain's length: it runs
while holding the append lock (PostgreSQL's advisory lock, SQLite's write lock), so reading the
whole chain there would serialise every audited write for longer as the log grows."""

from datetime import UTC, datetime

from sqlalchemy import event
from sqlmodel import Session

from app.audit import service as audit


def test_append_reads_one_row_of_the_chain_and_links_to_the_newest(session: Session) -> None:
    now = datetime.now(UTC)
    first = audit.record(session, "probe.first", "s1", {}, actor_id=None, now=now)
    second = audit.record(session, "probe.second", "s2", {}, actor_id=None, now=now)
    seen: list[str] = []

    def _seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()).upper())

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", _seen)
    try:
        third = audit.record(session, "probe.third", "s3", {}, actor_id=None, now=now)
    finally:
        event.remove(bind, "before_cursor_execute", _seen)

    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert third.hash == audit.entry_hash(
        second.hash, now, None, "probe.third", "s3", {}
    )  # PostgreSQL hashes in the database: the same bytes as entry_hash
    # The reads of the chain (SQLite: a SELECT; PostgreSQL: inside the INSERT) take one row.
    reads = [s for s in seen if "FROM AUDIT_ENTRY" in s]
    assert reads, seen
    assert all("LIMIT" in s for s in reads), reads
    assert audit.verify_chain(session).ok


def test_the_hash_covers_unicode_nested_data_and_an_absent_actor(session: Session) -> None:
    now = datetime.now(UTC)
    data = {"name": "Zoë Ñúñez 😀", "nested": {"b": [1, 2.5, None], "a": "\u2028"}, "n": 3}
    first = audit.record(session, "probe.unicode", "Ωmega", data, actor_id=None, now=now)
    second = audit.record(session, "probe.actor", "s", {}, actor_id=7, now=now)
    assert first.hash == audit.entry_hash(
        first.prev_hash, now, None, "probe.unicode", "Ωmega", data
    )
    assert second.prev_hash == first.hash
    assert audit.verify_chain(session).ok
