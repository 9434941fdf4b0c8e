"""Audit log: append an entry to the hash chain; verify the whole chain."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audit.models import AuditEntry
from app.core.clock import as_utc
from app.core.db import UTCDateTime
from app.core.errors import Conflict

GENESIS = "0" * 64
AUDIT_LOCK_KEY = 727_001  # any constant shared by every app process


def entry_hash(
    prev_hash: str, at: datetime, actor_id: int | None, action: str, subject: str, data: Any
) -> str:
    head, tail = _body_around_prev(at, actor_id, action, subject, data)
    return hashlib.sha256((head + prev_hash + tail).encode("utf-8")).hexdigest()


def _body_around_prev(
    at: datetime, actor_id: int | None, action: str, subject: str, data: Any
) -> tuple[str, str]:
    """The hashed body (canonical JSON) before and after the previous entry's hash, so the
    database can put the newest hash in between itself (see record)."""
    marker = secrets.token_hex(32)  # a fresh random value: cannot occur in the rest
    body = json.dumps(
        {
            "prev": marker,
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
    head, _, tail = body.partition(marker)
    return head, tail


# PostgreSQL: the newest hash is read and the entry inserted in one statement, under the lock.
_APPEND = text(
    """
    INSERT INTO audit_entry (at, actor_id, action, subject, data, prev_hash, hash)
    SELECT :at, CAST(:actor_id AS INTEGER), CAST(:action AS VARCHAR),
           CAST(:subject AS VARCHAR), :data, newest.hash,
           encode(sha256(convert_to(
               CAST(:head AS TEXT) || newest.hash || CAST(:tail AS TEXT), 'UTF8')), 'hex')
    FROM (SELECT coalesce(
        (SELECT hash FROM audit_entry ORDER BY id DESC LIMIT 1), CAST(:genesis AS VARCHAR)
    ) AS hash) AS newest
    RETURNING id, prev_hash, hash
    """
).bindparams(
    bindparam("at", type_=UTCDateTime()),
    bindparam("data", type_=JSON()),
)


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
        # the next statement reads (with its own snapshot, taken after the lock) stays the
        # newest: no savepoint and no retry. Every app process queues on this lock until the
        # caller commits, so the read, the hash and the insert are one round trip.
        head, tail = _body_around_prev(now, actor_id, action, subject, data)
        params = {
            "at": now,
            "actor_id": actor_id,
            "action": action,
            "subject": subject,
            "data": data,
            "head": head,
            "tail": tail,
            "genesis": GENESIS,
        }
        row = session.execute(_APPEND, params).one()
        entry = entry_after(row.prev_hash)
        entry.id = row.id
        if entry.hash != row.hash:  # the database hashed other bytes than entry_hash would
            raise RuntimeError("audit entry hash mismatch")
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
