"""Course tables: courses, modules and their content-hashed versions, enrolments."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Enum, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class CourseStatus(enum.StrEnum):
    draft = "draft"
    published = "published"


class Course(SQLModel, table=True):
    """A course and its current metadata. ``version`` grows whenever any of its content changes."""

    __tablename__ = "course"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=100)
    title: str = Field(max_length=300)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    audience: str = Field(sa_column=Column(Text, nullable=False))
    ce_hours: float
    instructional_level: str = Field(max_length=40)
    delivery_format: str = Field(max_length=200)
    objectives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    authors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    provider_name: str = Field(max_length=300)
    accreditation_statement: str = Field(sa_column=Column(Text, nullable=False))
    pass_mark_statement: str = Field(default="", sa_column=Column(Text, nullable=False))
    release_date: date
    last_review_date: date
    expires_on: date
    certificate_validity_months: int
    status: CourseStatus = Field(
        sa_column=Column(
            Enum(CourseStatus, name="course_status", native_enum=False, length=20),
            nullable=False,
        )
    )
    evaluation: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    closing_title: str = Field(default="", max_length=300)
    closing_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    legal_review: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    # How the CE hours were set; accreditation approvals (app.certificates.accreditation).
    credit_basis: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    approvals: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # Exact source files, so `lms content export` round-trips byte for byte.
    course_yaml_source: str = Field(sa_column=Column(Text, nullable=False))
    bibliography_source: str = Field(default="", sa_column=Column(Text, nullable=False))
    closing_source: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    version: int = Field(default=1)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Module(SQLModel, table=True):
    """A module's identity: progress and history attach here, across content versions."""

    __tablename__ = "module"
    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_module_course_slug"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="CASCADE")
    slug: str = Field(max_length=100)
    position: int
    file_name: str = Field(max_length=200)
    prerequisites: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = Field(default=True)  # false once removed from course.yaml
    current_version_id: int | None = Field(default=None)


class ModuleVersion(SQLModel, table=True):
    """One content version of a module, keyed by the hash of its source; HTML rendered once."""

    __tablename__ = "module_version"
    __table_args__ = (UniqueConstraint("module_id", "content_hash", name="uq_module_version_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    module_id: int = Field(foreign_key="module.id", index=True, ondelete="CASCADE")
    version: int
    content_hash: str = Field(max_length=64)
    title: str = Field(max_length=300)
    estimated_minutes: int
    word_count: int
    objectives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    toc: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class Enrollment(SQLModel, table=True):
    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("user_id", "course_id", name="uq_enrollment_user_course"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="CASCADE")
    enrolled_at: datetime = Field(sa_type=UTCDateTime)
    last_module_id: int | None = Field(default=None)
    last_anchor: str = Field(default="", max_length=200)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ModuleVisit(SQLModel, table=True):
    """Time a learner spent on a module page (credit basis for accreditors)."""

    __tablename__ = "module_visit"
    __table_args__ = (UniqueConstraint("user_id", "module_id", name="uq_module_visit_user_module"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    module_id: int = Field(foreign_key="module.id", index=True, ondelete="CASCADE")
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    seconds_on_page: int = Field(default=0)
