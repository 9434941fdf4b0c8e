"""The append-only, hash-chained audit log."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class AuditEntry(SQLModel, table=True):
    """Each entry holds the hash of the one before; ``prev_hash`` is unique, so two writers
    racing to append cannot both extend the same entry (the chain never forks)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None)
    action: str = Field(max_length=50)
    subject: str = Field(max_length=200)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(unique=True, max_length=64)
    hash: str = Field(unique=True, max_length=64)
