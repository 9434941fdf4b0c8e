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
    reads = [s for s in seen if s.startswith("SELECT") and "FROM AUDIT_ENTRY" in s]
    assert reads, seen
    assert all("LIMIT" in s for s in reads), reads
