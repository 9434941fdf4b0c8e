"""Issued certificates. The signed token is the source of truth; columns mirror it for lookups."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class Certificate(SQLModel, table=True):
    """(user, course, generation) is unique: two racing claims cannot issue twice; a reissue
    after a name correction is the next generation and supersedes the previous one."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "generation", name="uq_certificate_generation"),
    )

    id: int | None = Field(default=None, primary_key=True)  # also its status-list index
    code: str = Field(unique=True, index=True, max_length=20)
    user_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="RESTRICT")
    generation: int = Field(default=1)
    learner_name: str = Field(max_length=200)
    profession: str = Field(default="", max_length=100)
    license_state: str = Field(default="", max_length=2)
    license_number: str = Field(default="", max_length=64)  # never in the public credential
    course_title: str = Field(max_length=300)
    content_version: str = Field(max_length=20)
    ce_hours: float
    completion_date: date
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    kid: str = Field(default="", max_length=300)
    token: str = Field(default="", sa_column=Column(Text, nullable=False))
    credential: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    credit_basis: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revocation_reason: str = Field(default="", max_length=500)
    superseded_by_id: int | None = Field(default=None)
    # The licence chosen at claim (its details are copied above, so they survive its removal),
    # the profession key approvals matched on, and the approvals that applied, as issued.
    licence_id: int | None = Field(default=None, foreign_key="licence.id", ondelete="SET NULL")
    profession_key: str = Field(default="", max_length=40)
    approvals: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    expiry_reminder_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
