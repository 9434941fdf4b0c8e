"""Studio tables: a course's unpublished working copy, and the record of every publish."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class StudioDraft(SQLModel, table=True):
    """Unpublished changes to one course, as the same files `lms content` reads.

    ``files`` maps a path relative to the content root ("courses/<slug>/course.yaml",
    "quizzes/<slug>/final.yaml") to its text. A draft exists only between the first edit and
    the next publish; learners never read it."""

    __tablename__ = "studio_draft"

    id: int | None = Field(default=None, primary_key=True)
    course_slug: str = Field(unique=True, max_length=100)
    owner_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    files: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The published course's content hash when the draft began ("" for a new course), so
    # the studio can say when `lms content import` changed the course underneath the draft.
    base_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class StudioPublish(SQLModel, table=True):
    """One publish from the studio: who, when, and which files and versions it changed."""

    __tablename__ = "studio_publish"

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="CASCADE")
    actor_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    published_at: datetime = Field(sa_type=UTCDateTime)
    summary: str = Field(max_length=300)
    # [{"path": ..., "change": "added" | "changed" | "removed", "module"?: slug, "version"?: n}]
    changes: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
