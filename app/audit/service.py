"""Audit log: append an entry to the hash chain; verify the whole chain."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit.models import AuditEntry
from app.core.clock import as_utc
from app.core.errors import Conflict

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 727_001  # any constant shared by every app process


def entry_hash(
    prev_hash: str, at: datetime, actor_id: int | None, action: str, subject: str, data: Any
) -> str:
    body = json.dumps(
        {
            "prev": prev_hash,
            "at": as_utc(at).isoformat(timespec="microseconds"),
            "actor": actor_id,
            "action": action,
            "subject": subject,
            "data": data,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _last_hash(session: Session) -> str:
    # LIMIT 1, not just .first(): psycopg fetches a whole result before first() sees a row, so
    # without it every append read the entire chain while holding the append lock.
    stmt = select(AuditEntry.hash).order_by(col(AuditEntry.id).desc()).limit(1)
    return session.exec(stmt).first() or GENESIS


def record(
    session: Session,
    action: str,
    subject: str,
    data: dict[str, Any],
    *,
    actor_id: int | None,
    now: datetime,
) -> AuditEntry:
    """Appends one entry in the caller's transaction. Appends queue on PostgreSQL behind an
    advisory lock held to the end of the transaction (SQLite writers are serialised already);
    the unique prev_hash still guards the chain if anything else races."""

    def entry_after(prev: str) -> AuditEntry:
        return AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            subject=subject,
            data=data,
            prev_hash=prev,
            hash=entry_hash(prev, now, actor_id, action, subject, data),
        )

    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
        # Under the lock no other append can commit before this transaction ends, so the hash
        # read next stays the newest: no savepoint and no retry. Every app process queues on
        # this lock, so each round trip taken while holding it limits submissions per second.
        entry = entry_after(_last_hash(session))
        session.add(entry)
        session.flush()
        return entry
    for _ in range(20):
        entry = entry_after(_last_hash(session))
        try:
            with session.begin_nested():
                session.add(entry)
        except IntegrityError:
            continue
        return entry
    raise Conflict("the audit log is busy; try again")


@dataclass
class ChainCheck:
    ok: bool
    entries: int
    first_broken_id: int | None = None
    reason: str = ""


def verify_chain(session: Session) -> ChainCheck:
    """Recomputes every hash in order; names the first entry that does not match."""
    prev = GENESIS
    count = 0
    for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
        count += 1
        if entry.prev_hash != prev:
            return ChainCheck(False, count, entry.id, "does not follow the entry before it")
        expected = entry_hash(
            entry.prev_hash, entry.at, entry.actor_id, entry.action, entry.subject, entry.data
        )
        if entry.hash != expected:
            return ChainCheck(
                False, count, entry.id, "its content was changed after it was written"
            )
        prev = entry.hash
    return ChainCheck(True, count)
