"""Quiz tables: banks and their versions, attempts (with their frozen question snapshot),
and course evaluation responses."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class QuizBank(SQLModel, table=True):
    """A module's quiz or the course's final exam (module_id is null)."""

    __tablename__ = "quiz_bank"
    __table_args__ = (UniqueConstraint("course_id", "key", name="uq_quiz_bank_course_key"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="CASCADE")
    module_id: int | None = Field(default=None, foreign_key="module.id", ondelete="CASCADE")
    key: str = Field(max_length=100)  # module slug, or "final"
    file_name: str = Field(max_length=200)  # under quizzes/<course-slug>/
    current_version_id: int | None = Field(default=None)


class QuizVersion(SQLModel, table=True):
    __tablename__ = "quiz_version"
    __table_args__ = (UniqueConstraint("bank_id", "content_hash", name="uq_quiz_version_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    bank_id: int = Field(foreign_key="quiz_bank.id", index=True, ondelete="CASCADE")
    version: int
    content_hash: str = Field(max_length=64)
    title: str = Field(max_length=300)
    pass_mark: float
    draw: int | None = None
    max_attempts: int
    cooldown_hours: float
    time_limit_minutes: int | None = None
    reveal: str = Field(max_length=20)
    questions: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class QuizAttempt(SQLModel, table=True):
    """One attempt. ``snapshot`` freezes the drawn questions and shuffled options, so later
    edits to the bank never change a past result. (user, bank, number) is unique: two
    racing starts cannot both take the same place in the attempt count."""

    __tablename__ = "quiz_attempt"
    __table_args__ = (
        UniqueConstraint("user_id", "bank_id", "number", name="uq_quiz_attempt_user_bank_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(unique=True, max_length=36)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    bank_id: int = Field(foreign_key="quiz_bank.id", index=True, ondelete="CASCADE")
    quiz_version_id: int = Field(foreign_key="quiz_version.id", ondelete="CASCADE")
    number: int
    snapshot: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    pass_mark: float
    reveal: str = Field(max_length=20)
    started_at: datetime = Field(sa_type=UTCDateTime)
    deadline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    score: float | None = None
    is_passed: bool | None = None
    answers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    results: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))


class QuizItemResponse(SQLModel, table=True):
    """One graded question of a submitted attempt, written with the grade, so item analysis
    aggregates narrow indexed columns in SQL instead of decoding every attempt's JSON.

    ``chosen`` names options by their position in the quiz version's authored list (option ids
    are random per attempt), sorted and comma-joined ("0", "1,3"); true/false stores "0" for
    true and "1" for false; null when unanswered or numeric. ``attempt_score`` is the
    attempt's score as graded (0-1) and ``item_count`` its number of questions, so the rest
    score of an item is (attempt_score * item_count - is_correct) / (item_count - 1)."""

    __tablename__ = "quiz_item_response"
    __table_args__ = (Index("ix_quiz_item_response_bank_question", "bank_id", "question_id"),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="quiz_attempt.id", index=True, ondelete="CASCADE")
    bank_id: int = Field(foreign_key="quiz_bank.id", ondelete="CASCADE")
    quiz_version_id: int = Field(foreign_key="quiz_version.id", ondelete="CASCADE")
    question_id: str = Field(max_length=100)
    chosen: str | None = Field(default=None, max_length=100)
    is_correct: bool
    attempt_score: float
    item_count: int
    submitted_at: datetime = Field(sa_type=UTCDateTime)


class EvaluationResponse(SQLModel, table=True):
    __tablename__ = "evaluation_response"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", name="uq_evaluation_response_user_course"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    course_id: int = Field(foreign_key="course.id", index=True, ondelete="CASCADE")
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: datetime = Field(sa_type=UTCDateTime)
