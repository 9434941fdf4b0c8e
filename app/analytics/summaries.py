"""Keeps the analytics summaries (app.analytics.models) equal to a full recomputation.

``record_submission`` runs inside ``quizzes.submit_attempt``'s transaction, so a grade and its
place in the summaries commit or roll back together. Every change is an atomic upsert
(``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``, on SQLite and PostgreSQL alike), so
concurrent submissions never lose an increment; rows are locked in one order (item groups by key,
then the learner's row, then the quiz's totals) so two submissions cannot deadlock on them. The
shared rows (item groups, quiz totals) are split into shards by the learner's id
(models.shard_of), so submissions of different learners rarely wait for each other's commit.

``rebuild`` recomputes every summary from quiz_attempt and quiz_item_response, for a database
filled by other means (benchmarks/analytics_data.py) or to repair drift after hand edits.
Evaluation counts are kept by database triggers (see the migration), because responses are
written and blanked by code outside this feature; ``rebuild_evaluation_counts`` reruns them.
"""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Executable,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    text,
    true,
    update,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlmodel import Session, col

from app.analytics.models import (
    SHARDS,
    BankTotals,
    EvaluationCount,
    ItemGroupSums,
    LearnerBankSummary,
    shard_of,
)
from app.core.clock import as_utc
from app.quizzes.models import EvaluationResponse, QuizAttempt, QuizItemResponse

ITEM_SUMS = ("responses", "correct", "rest", "rest_x", "rest_sq")
BANK_SUMS = ("learners", "submitted", "first_attempts", "first_passed", "passed")


def rest_points(attempt_score: float, item_count: int, is_correct: bool) -> int:
    """Points on the attempt's other questions: its score times its questions, less this one.
    The score is stored rounded to 4 places, so rounding back to whole points is exact."""
    return round(attempt_score * item_count) - int(is_correct)


@dataclass(frozen=True)
class _Statements:
    add_items: Executable
    first_start: Executable
    add_learner: Executable
    set_seconds: Executable
    add_totals: Executable


def _earlier(new: ColumnElement[Any], old: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two timestamps, either of which may be null (same on both databases:
    SQLite stores them as fixed-width ISO text, which sorts like the times)."""
    return case((or_(old.is_(None), and_(new.is_not(None), new < old)), new), else_=old)


@functools.cache
def _statements(dialect: str) -> _Statements:
    """Built once per dialect and run with parameters: a submission pays for executing four
    small statements, not for constructing them."""
    insert_for = postgresql.insert if dialect == "postgresql" else sqlite.insert
    groups = ItemGroupSums.__table__  # type: ignore[attr-defined]
    new_items = insert_for(groups)
    add_items = new_items.on_conflict_do_update(
        index_elements=[
            groups.c[k] for k in ("quiz_version_id", "question_id", "item_count", "chosen", "shard")
        ],
        set_={n: groups.c[n] + new_items.excluded[n] for n in ITEM_SUMS},
    )
    learner = LearnerBankSummary.__table__  # type: ignore[attr-defined]
    new_learner = insert_for(learner)
    new = new_learner.excluded
    add_learner = new_learner.on_conflict_do_update(
        index_elements=[learner.c.user_id, learner.c.bank_id],
        set_={
            "attempts": learner.c.attempts + 1,
            "passed_attempts": learner.c.passed_attempts + new.passed_attempts,
            "first_started_at": _earlier(new.first_started_at, learner.c.first_started_at),
            "first_passed_at": _earlier(new.first_passed_at, learner.c.first_passed_at),
            "last_submitted_at": case(
                (new.last_submitted_at > learner.c.last_submitted_at, new.last_submitted_at),
                else_=learner.c.last_submitted_at,
            ),
        },
    ).returning(
        learner.c.attempts,
        learner.c.passed_attempts,
        learner.c.first_started_at,
        learner.c.first_passed_at,
        learner.c.seconds_to_pass,
    )
    totals = BankTotals.__table__  # type: ignore[attr-defined]
    new_totals = insert_for(totals)
    add_totals = new_totals.on_conflict_do_update(
        index_elements=[totals.c.bank_id, totals.c.shard],
        set_={n: totals.c[n] + new_totals.excluded[n] for n in BANK_SUMS},
    )
    attempt = QuizAttempt.__table__  # type: ignore[attr-defined]
    return _Statements(
        add_items=add_items,
        first_start=sql_select(func.min(attempt.c.started_at)).where(
            attempt.c.user_id == bindparam("of_user"), attempt.c.bank_id == bindparam("of_bank")
        ),
        add_learner=add_learner,
        set_seconds=update(learner)
        .where(learner.c.user_id == bindparam("of_user"), learner.c.bank_id == bindparam("of_bank"))
        .values(seconds_to_pass=bindparam("seconds")),
        add_totals=add_totals,
    )


def record_submission(
    session: Session,
    attempt: QuizAttempt,
    items: Sequence[Mapping[str, Any]],
    *,
    passed: bool,
    now: datetime,
) -> None:
    """Adds one graded submission (its quiz_item_response values ``items``) to the summaries,
    in the caller's transaction; safe against concurrent submissions on both databases."""
    conn = session.connection()
    sql = _statements(conn.dialect.name)
    shard = shard_of(attempt.user_id)
    groups: dict[tuple[int, str, int, str], list[int]] = {}
    for item in items:
        count = int(item["item_count"])
        key = (attempt.quiz_version_id, str(item["question_id"]), count, item["chosen"] or "")
        x = int(bool(item["is_correct"]))
        rest = rest_points(float(item["attempt_score"]), count, bool(item["is_correct"]))
        sums = groups.setdefault(key, [0, 0, 0, 0, 0])
        for i, value in enumerate((1, x, rest, x * rest, rest * rest)):
            sums[i] += value
    if groups:
        # Sorted, so concurrent submissions lock the shared rows in the same order.
        conn.execute(
            sql.add_items,
            [
                {
                    "quiz_version_id": version_id,
                    "question_id": question_id,
                    "item_count": count,
                    "chosen": chosen,
                    "shard": shard,
                    "bank_id": attempt.bank_id,
                    **dict(zip(ITEM_SUMS, sums, strict=True)),
                }
                for (version_id, question_id, count, chosen), sums in sorted(groups.items())
            ],
        )

    of = {"of_user": attempt.user_id, "of_bank": attempt.bank_id}
    first_start = conn.execute(sql.first_start, of).scalar_one()
    started = _utc(first_start) if first_start is not None else attempt.started_at
    seconds = (now - started).total_seconds() if passed else None
    row = conn.execute(
        sql.add_learner,
        {
            "user_id": attempt.user_id,
            "bank_id": attempt.bank_id,
            "attempts": 1,
            "passed_attempts": int(passed),
            "first_started_at": started,
            "first_passed_at": now if passed else None,
            "seconds_to_pass": seconds,
            "last_submitted_at": now,
        },
    ).one()
    attempts, passed_attempts, first_started_at, first_passed_at, stored = row
    if first_passed_at is not None:
        seconds = (_utc(first_passed_at) - _utc(first_started_at)).total_seconds()
    if seconds != stored:
        # The row stays locked until commit; the interval is worked out here because the two
        # databases have no common way to subtract timestamps.
        conn.execute(sql.set_seconds, {**of, "seconds": seconds})

    first = attempt.number == 1
    conn.execute(
        sql.add_totals,
        {
            "bank_id": attempt.bank_id,
            "shard": shard,
            "learners": int(attempts == 1),
            "submitted": 1,
            "first_attempts": int(first),
            "first_passed": int(first and passed),
            "passed": int(passed and passed_attempts == 1),
        },
    )


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite may hand back an aggregate of a datetime column as text
        value = datetime.fromisoformat(value)
    return as_utc(value)


# --- rebuilding from the raw rows ------------------------------------------------------------


def rebuild(connection: Connection, bank_ids: Sequence[int] | None = None) -> None:
    """Recomputes the summaries of these quizzes (all when None) from quiz_attempt and
    quiz_item_response; the result equals, row for row and shard for shard, what
    record_submission would have accumulated (a learner's attempts all fall in one shard)."""
    scope: dict[Any, Any] = {}
    for table in (ItemGroupSums, LearnerBankSummary, BankTotals):
        stmt = delete(table)
        if bank_ids is not None:
            stmt = stmt.where(col(table.bank_id).in_(bank_ids))
        connection.execute(stmt)
    for model in (QuizItemResponse, QuizAttempt):
        scope[model] = col(model.bank_id).in_(bank_ids) if bank_ids is not None else true()

    r = QuizItemResponse
    a = QuizAttempt
    # Inline, so PostgreSQL sees the select list's and GROUP BY's expressions as the same.
    shard_sql = col(a.user_id) % literal_column(str(SHARDS), Integer)
    x = case((col(r.is_correct).is_(True), 1), else_=0)
    points = cast(func.round(cast(col(r.attempt_score) * col(r.item_count), Float)), Integer)
    per_item = (
        sql_select(
            col(r.quiz_version_id).label("quiz_version_id"),
            col(r.question_id).label("question_id"),
            col(r.item_count).label("item_count"),
            func.coalesce(col(r.chosen), "").label("chosen"),
            (shard_sql).label("shard"),
            col(r.bank_id).label("bank_id"),
            x.label("x"),
            (points - x).label("rest"),
        )
        .join(a, col(a.id) == col(r.attempt_id))
        .where(scope[QuizItemResponse])
        .subquery()
    )
    big = BigInteger()
    connection.execute(
        insert(ItemGroupSums).from_select(
            [
                "quiz_version_id",
                "question_id",
                "item_count",
                "chosen",
                "shard",
                "bank_id",
                "responses",
                "correct",
                "rest",
                "rest_x",
                "rest_sq",
            ],
            sql_select(
                per_item.c.quiz_version_id,
                per_item.c.question_id,
                per_item.c.item_count,
                per_item.c.chosen,
                per_item.c.shard,
                func.min(per_item.c.bank_id),
                func.count(),
                func.sum(cast(per_item.c.x, big)),
                func.sum(cast(per_item.c.rest, big)),
                func.sum(cast(per_item.c.x * per_item.c.rest, big)),
                func.sum(cast(per_item.c.rest * per_item.c.rest, big)),
            ).group_by(
                per_item.c.quiz_version_id,
                per_item.c.question_id,
                per_item.c.item_count,
                per_item.c.chosen,
                per_item.c.shard,
            ),
        )
    )

    submitted = col(a.submitted_at).is_not(None)
    is_passed = and_(submitted, col(a.is_passed).is_(True))
    connection.execute(
        insert(LearnerBankSummary).from_select(
            [
                "user_id",
                "bank_id",
                "attempts",
                "passed_attempts",
                "first_started_at",
                "first_passed_at",
                "last_submitted_at",
            ],
            sql_select(
                col(a.user_id),
                col(a.bank_id),
                func.count(col(a.submitted_at)),
                func.sum(case((is_passed, 1), else_=0)),
                func.min(col(a.started_at)),
                func.min(case((is_passed, col(a.submitted_at)))),
                func.max(col(a.submitted_at)),
            )
            .where(scope[QuizAttempt])
            .group_by(col(a.user_id), col(a.bank_id))
            .having(func.count(col(a.submitted_at)) > 0),
        )
    )
    lb = LearnerBankSummary
    passed_rows: ColumnElement[bool] = col(lb.first_passed_at).is_not(None)
    if bank_ids is not None:
        passed_rows = and_(passed_rows, col(lb.bank_id).in_(bank_ids))
    connection.execute(
        update(lb)
        .where(passed_rows)
        .values(
            seconds_to_pass=seconds_between(connection, lb.first_started_at, lb.first_passed_at)
        )
    )

    first = col(a.number) == 1
    connection.execute(
        insert(BankTotals).from_select(
            [
                "bank_id",
                "shard",
                "learners",
                "submitted",
                "first_attempts",
                "first_passed",
                "passed",
            ],
            sql_select(
                col(a.bank_id),
                shard_sql,
                func.count(func.distinct(col(a.user_id))),
                func.count(),
                func.sum(case((first, 1), else_=0)),
                func.sum(case((and_(first, col(a.is_passed).is_(True)), 1), else_=0)),
                func.count(func.distinct(case((col(a.is_passed).is_(True), col(a.user_id))))),
            )
            .where(scope[QuizAttempt], submitted)
            .group_by(col(a.bank_id), shard_sql),
        )
    )


def rebuild_evaluation_counts(connection: Connection, course_ids: Sequence[int]) -> None:
    """Recounts these courses' evaluation responses from scratch, in one statement on
    PostgreSQL (with the triggers' own function, defined in the migration) and in Python on
    SQLite (by the definition the triggers follow)."""
    connection.execute(
        delete(EvaluationCount).where(col(EvaluationCount.course_id).in_(course_ids))
    )
    responses = EvaluationResponse
    of_courses = col(responses.course_id).in_(course_ids)
    if connection.dialect.name == "postgresql":
        ids: BindParameter[list[int]] = bindparam("ids", list(course_ids), expanding=True)
        connection.execute(
            text(
                """INSERT INTO analytics_evaluation_count (course_id, question_id, kind, n)
                SELECT r.course_id, k.answer_key, k.answer_kind, count(*)
                FROM evaluation_response AS r, analytics_evaluation_kinds(r.answers) AS k
                WHERE r.course_id IN :ids
                GROUP BY r.course_id, k.answer_key, k.answer_kind"""
            ).bindparams(ids)
        )
        return
    counts: dict[tuple[int, str, str], int] = {}
    for course_id, answers in connection.execute(
        sql_select(col(responses.course_id), col(responses.answers)).where(of_courses)
    ):
        for key, value in (answers if isinstance(answers, dict) else {}).items():
            kind = evaluation_kind(value)
            if kind is not None:
                counts[(course_id, key, kind)] = counts.get((course_id, key, kind), 0) + 1
    if counts:
        connection.execute(
            insert(EvaluationCount),
            [
                {"course_id": c, "question_id": q, "kind": k, "n": n}
                for (c, q, k), n in counts.items()
            ],
        )


def evaluation_kind(value: object) -> str | None:
    """What an answer counts as: its rating ("1"-"5", JSON integers only), "text" (a string
    with something besides whitespace), or nothing."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
        return str(value)
    if isinstance(value, str) and value.strip():
        return "text"
    return None


def seconds_between(bind: Connection, start: Any, end: Any) -> ColumnElement[Any]:
    """end - start in seconds, to the microsecond, as ``timedelta.total_seconds()`` gives it."""
    if bind.dialect.name == "postgresql":
        return cast(func.extract("epoch", end - start), Float)
    # SQLite keeps UTC times as "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds from the first 19
    # characters (strftime rounds fractions to milliseconds, which can carry into the second)
    # and microseconds from the last 6, so no julianday() rounding creeps in.
    micros = (
        cast(func.strftime("%s", func.substr(end, 1, 19)), Integer)
        - cast(func.strftime("%s", func.substr(start, 1, 19)), Integer)
    ) * 1_000_000 + (
        cast(func.substr(end, 21, 6), Integer) - cast(func.substr(start, 21, 6), Integer)
    )
    return micros / literal(1_000_000.0)
