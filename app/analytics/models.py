"""Analytics summaries: running totals kept up to date by every graded submission
(``summaries.record_submission``, in the grading transaction) and, for course evaluations, by
database triggers, so the course report reads a row per question, learner-quiz or quiz instead
of every attempt and every evaluation response."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.accounts.models import User
from app.core.db import UTCDateTime
from app.quizzes.models import EvaluationResponse

# Shared running totals (per quiz, per question group) are split over this many rows, chosen
# by the learner's id modulo SHARDS, so concurrent submissions of different learners rarely
# wait on one row lock until the other's grading transaction commits. Readers sum over shards;
# a learner's submissions always land in the same shard, so per-shard counts of distinct
# learners add up exactly. Changing it needs no migration: readers sum whatever shards exist.
SHARDS = 16


def shard_of(user_id: int) -> int:
    return user_id % SHARDS


class ItemGroupSums(SQLModel, table=True):
    """Item responses of one question in one quiz version, grouped by the options chosen and by
    the attempt's number of questions, in one row per shard (the learners whose id is the shard
    modulo SHARDS: a group's totals are the sums over its shards). The rest score of a response
    is ``rest`` points (the attempt's other questions answered right) over ``item_count - 1``;
    keeping the point sums as integers per item count makes every total exact and independent
    of the order in which submissions arrive, so the point-biserial is computed from exact Σy,
    Σxy and Σy²."""

    __tablename__ = "analytics_item_group"
    __table_args__ = (Index("ix_analytics_item_group_bank_id", "bank_id"),)

    quiz_version_id: int = Field(
        foreign_key="quiz_version.id", primary_key=True, ondelete="CASCADE"
    )
    question_id: str = Field(primary_key=True, max_length=100)
    item_count: int = Field(primary_key=True)
    # Positions in the authored question as quiz_item_response.chosen; "" when none was chosen.
    chosen: str = Field(primary_key=True, max_length=100)
    shard: int = Field(primary_key=True)  # shard_of(the attempt's user_id)
    bank_id: int = Field(foreign_key="quiz_bank.id", ondelete="CASCADE")
    responses: int = Field(sa_type=BigInteger)
    correct: int = Field(sa_type=BigInteger)  # Σx
    rest: int = Field(sa_type=BigInteger)  # Σ rest points
    rest_x: int = Field(sa_type=BigInteger)  # Σ x · rest points
    rest_sq: int = Field(sa_type=BigInteger)  # Σ (rest points)²


class LearnerBankSummary(SQLModel, table=True):
    """One learner's submitted attempts at one quiz; the row appears with the first submission.
    ``first_started_at`` is the learner's earliest start at this quiz (submitted or not) and
    ``seconds_to_pass`` runs from it to the first passing submission, indexed per quiz so the
    median is read by position instead of by sorting every learner."""

    __tablename__ = "analytics_learner_bank"
    __table_args__ = (
        Index("ix_analytics_learner_bank_bank_seconds", "bank_id", "seconds_to_pass"),
    )

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    bank_id: int = Field(foreign_key="quiz_bank.id", primary_key=True, ondelete="CASCADE")
    attempts: int  # submitted
    passed_attempts: int
    first_started_at: datetime = Field(sa_type=UTCDateTime)
    first_passed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    seconds_to_pass: float | None = None
    last_submitted_at: datetime = Field(sa_type=UTCDateTime)


class BankTotals(SQLModel, table=True):
    """Per quiz and shard (learners whose id is the shard modulo SHARDS): learners who
    submitted, submitted attempts, attempts numbered 1 and how many of those passed, and
    learners who passed. A quiz's figures are the sums over its shards."""

    __tablename__ = "analytics_bank_total"

    bank_id: int = Field(foreign_key="quiz_bank.id", primary_key=True, ondelete="CASCADE")
    shard: int = Field(primary_key=True)
    learners: int = Field(sa_type=BigInteger)
    submitted: int = Field(sa_type=BigInteger)
    first_attempts: int = Field(sa_type=BigInteger)
    first_passed: int = Field(sa_type=BigInteger)
    passed: int = Field(sa_type=BigInteger)


class EvaluationCount(SQLModel, table=True):
    """How many of a course's evaluation responses give a question each rating ("1"-"5": a
    JSON integer) or a non-blank text answer ("text"); question "" with kind "unparsed" counts
    responses PostgreSQL's JSON functions cannot take apart (the report then reads them all).

    Kept by database triggers on evaluation_response (alembic 8a7f3c2e91d0), in the writing
    transaction, so every way a response is written, blanked or deleted is counted."""

    __tablename__ = "analytics_evaluation_count"

    course_id: int = Field(foreign_key="course.id", primary_key=True, ondelete="CASCADE")
    question_id: str = Field(sa_column=Column(Text, primary_key=True))
    kind: str = Field(primary_key=True, max_length=10)
    n: int = Field(sa_type=BigInteger)


# Read paths of the report on other features' tables. The newest text answers are read in this
# order, and the learner table pages through learners by name; without these indexes every
# page view sorts all of the course's responses or learners.
Index(
    "ix_user_full_name_id",
    User.__table__.c.full_name,  # type: ignore[attr-defined]
    User.__table__.c.id,  # type: ignore[attr-defined]
)
Index(
    "ix_evaluation_response_course_newest",
    EvaluationResponse.__table__.c.course_id,  # type: ignore[attr-defined]
    EvaluationResponse.__table__.c.submitted_at,  # type: ignore[attr-defined]
    EvaluationResponse.__table__.c.id,  # type: ignore[attr-defined]
)
