"""analytics summaries: item groups, learner-quiz and quiz totals, evaluation counts; backfilled

Quiz summaries are written by app.analytics.summaries.record_submission at grading; evaluation
counts by triggers on evaluation_response defined here (they count every write, whichever code
makes it).

Revision ID: 8a7f3c2e91d0
Revises: 3eb556674c88
Create Date: 2026-11-23 06:40:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel

import app.core.db
from alembic import op

revision: str = "8a7f3c2e91d0"
down_revision: str | None = "3eb556674c88"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# app.analytics.models.SHARDS as of this revision: item groups and quiz totals are kept in this
# many rows each, by the learner's id modulo SHARDS (readers sum over shards).
SHARDS = 16


def upgrade() -> None:
    op.create_table(
        "analytics_item_group",
        sa.Column("quiz_version_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("chosen", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("responses", sa.BigInteger(), nullable=False),
        sa.Column("correct", sa.BigInteger(), nullable=False),
        sa.Column("rest", sa.BigInteger(), nullable=False),
        sa.Column("rest_x", sa.BigInteger(), nullable=False),
        sa.Column("rest_sq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["quiz_bank.id"],
            name=op.f("fk_analytics_item_group_bank_id_quiz_bank"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quiz_version_id"],
            ["quiz_version.id"],
            name=op.f("fk_analytics_item_group_quiz_version_id_quiz_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "quiz_version_id",
            "question_id",
            "item_count",
            "chosen",
            "shard",
            name=op.f("pk_analytics_item_group"),
        ),
    )
    with op.batch_alter_table("analytics_item_group", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_item_group_bank_id", ["bank_id"], unique=False)

    op.create_table(
        "analytics_learner_bank",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("passed_attempts", sa.Integer(), nullable=False),
        sa.Column("first_started_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_passed_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seconds_to_pass", sa.Float(), nullable=True),
        sa.Column("last_submitted_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["quiz_bank.id"],
            name=op.f("fk_analytics_learner_bank_bank_id_quiz_bank"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_analytics_learner_bank_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "bank_id", name=op.f("pk_analytics_learner_bank")),
    )
    with op.batch_alter_table("analytics_learner_bank", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_learner_bank_bank_seconds", ["bank_id", "seconds_to_pass"], unique=False
        )

    op.create_table(
        "analytics_bank_total",
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("learners", sa.BigInteger(), nullable=False),
        sa.Column("submitted", sa.BigInteger(), nullable=False),
        sa.Column("first_attempts", sa.BigInteger(), nullable=False),
        sa.Column("first_passed", sa.BigInteger(), nullable=False),
        sa.Column("passed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bank_id"],
            ["quiz_bank.id"],
            name=op.f("fk_analytics_bank_total_bank_id_quiz_bank"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bank_id", "shard", name=op.f("pk_analytics_bank_total")),
    )
    op.create_table(
        "analytics_evaluation_count",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Text(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["course.id"],
            name=op.f("fk_analytics_evaluation_count_course_id_course"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "course_id", "question_id", "kind", name=op.f("pk_analytics_evaluation_count")
        ),
    )
    with op.batch_alter_table("evaluation_response", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evaluation_response_course_newest",
            ["course_id", "submitted_at", "id"],
            unique=False,
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index("ix_user_full_name_id", ["full_name", "id"], unique=False)
    bind = op.get_bind()
    for statement in evaluation_triggers(bind.dialect.name):
        bind.exec_driver_sql(statement)
    backfill(bind)


# Every character Python's str.strip() removes: a text answer counts when anything else is left.
WHITESPACE = [c for c in range(0x110000) if chr(c).isspace()]


def evaluation_triggers(dialect: str) -> list[str]:
    """DDL of the triggers that keep analytics_evaluation_count. A response adds one to
    (course, question, rating) for each answer that is a JSON integer 1-5 and to
    (course, question, "text") for each string with something besides whitespace; deleting or
    changing it takes the old answers off again (by UPDATE only, so a course being deleted
    never gets new rows)."""
    if dialect == "postgresql":
        spaces = (
            "E'"
            + "".join(f"\\u{c:04x}" if c < 0x10000 else f"\\U{c:08x}" for c in WHITESPACE)
            + "'"
        )
        kinds = f"""
            SELECT e.key AS key, CASE
                WHEN json_typeof(e.value) = 'number' AND e.value::text IN ('1', '2', '3', '4', '5')
                    THEN e.value::text
                WHEN json_typeof(e.value) = 'string' AND btrim(e.value #>> '{{}}', {spaces}) <> ''
                    THEN 'text'
            END AS kind
            FROM json_each(doc) AS e"""  # noqa: S608 (constant DDL)
        return [
            f"""
CREATE FUNCTION analytics_evaluation_kinds(answers json)
RETURNS TABLE (answer_key text, answer_kind text) LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    doc json;
BEGIN
    BEGIN
        -- \\u0000 is valid JSON that PostgreSQL cannot turn into text; any other character in
        -- its place keeps the answer non-blank, as it is to Python.
        doc := replace(answers::text, '\\u0000', '\\ufffd')::json;
        IF json_typeof(doc) IS DISTINCT FROM 'object' THEN
            RETURN;
        END IF;
        PERFORM count(k.kind) FROM ({kinds}) AS k;  -- takes every answer apart once
    EXCEPTION WHEN data_exception THEN
        -- JSON that PostgreSQL cannot take apart (a lone surrogate escape, say): counted
        -- apart, and the report reads the course's responses in Python while any is left.
        answer_key := '';
        answer_kind := 'unparsed';
        RETURN NEXT;
        RETURN;
    END;
    RETURN QUERY SELECT k.key, k.kind FROM ({kinds}) AS k WHERE k.kind IS NOT NULL;
END $$""",  # noqa: S608 (constant DDL)
            """
CREATE FUNCTION analytics_evaluation_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE analytics_evaluation_count AS c SET n = c.n - k.n
        FROM (SELECT answer_key, answer_kind, count(*) AS n
              FROM analytics_evaluation_kinds(OLD.answers) GROUP BY answer_key, answer_kind) AS k
        WHERE c.course_id = OLD.course_id AND c.question_id = k.answer_key
          AND c.kind = k.answer_kind;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO analytics_evaluation_count AS c (course_id, question_id, kind, n)
        SELECT NEW.course_id, answer_key, answer_kind, count(*)
        FROM analytics_evaluation_kinds(NEW.answers) GROUP BY answer_key, answer_kind
        ON CONFLICT (course_id, question_id, kind) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END $$""",
            """
CREATE TRIGGER analytics_evaluation_count
AFTER INSERT OR DELETE OR UPDATE OF answers, course_id ON evaluation_response
FOR EACH ROW EXECUTE FUNCTION analytics_evaluation_changed()""",
        ]

    def kinds(row: str) -> str:
        return f"""
            SELECT key, kind, count(*) AS n FROM ({_sqlite_entries(row)})
            WHERE kind IS NOT NULL GROUP BY key, kind"""  # noqa: S608 (constant DDL)

    def add(row: str) -> str:
        return f"""
    INSERT INTO analytics_evaluation_count (course_id, question_id, kind, n)
    SELECT {row}.course_id, k.key, k.kind, k.n FROM ({kinds(row)}) AS k WHERE true
    ON CONFLICT (course_id, question_id, kind) DO UPDATE SET n = n + excluded.n;"""  # noqa: S608 (constant DDL)

    def take_off(row: str) -> str:
        return f"""
    UPDATE analytics_evaluation_count SET n = analytics_evaluation_count.n - k.n
    FROM ({kinds(row)}) AS k
    WHERE analytics_evaluation_count.course_id = {row}.course_id
      AND analytics_evaluation_count.question_id = k.key
      AND analytics_evaluation_count.kind = k.kind;"""  # noqa: S608 (constant DDL)

    return [
        f"""
CREATE TRIGGER analytics_evaluation_insert AFTER INSERT ON evaluation_response
BEGIN{add("NEW")}
END""",
        f"""
CREATE TRIGGER analytics_evaluation_update AFTER UPDATE OF answers, course_id
ON evaluation_response
BEGIN{take_off("OLD")}{add("NEW")}
END""",
        f"""
CREATE TRIGGER analytics_evaluation_delete AFTER DELETE ON evaluation_response
BEGIN{take_off("OLD")}
END""",
    ]


def _sqlite_entries(row: str, table: str = "") -> str:
    """SQLite: (course_id, key, kind) for each answer of ``row`` (NEW, OLD, or an alias of
    ``table``); kind is the rating, "text", or null for an answer not counted."""
    spaces = "char(" + ", ".join(map(str, WHITESPACE)) + ")"
    source = f"{table} AS {row}, " if table else ""
    return f"""
                SELECT {row}.course_id AS course_id, e.key AS key, CASE
                    WHEN e.type = 'integer' AND e.value BETWEEN 1 AND 5
                        THEN CAST(e.value AS TEXT)
                    WHEN e.type = 'text' AND trim(e.value, {spaces}) <> '' THEN 'text'
                END AS kind
                FROM {source}json_each(
                    CASE WHEN json_type({row}.answers) = 'object' THEN {row}.answers ELSE '{{}}' END
                ) AS e"""  # noqa: S608 (constant DDL)


def backfill(bind: sa.Connection) -> None:
    """Summaries of every attempt submitted before this revision, so an upgraded database shows
    the figures it showed before. Frozen here as of this revision (app.analytics.summaries
    .rebuild is the living copy): set-based INSERT ... SELECT, the same SQL on both databases
    except for the interval in seconds. Shared rows go to shard user_id % SHARDS, as the
    submissions of each learner would have put them (readers sum over any shards)."""
    response = sa.table(
        "quiz_item_response",
        *(
            sa.column(name)
            for name in (
                "attempt_id",
                "bank_id",
                "quiz_version_id",
                "question_id",
                "item_count",
                "chosen",
            )
        ),
        sa.column("is_correct", sa.Boolean()),
        sa.column("attempt_score", sa.Float()),
    )
    attempt = sa.table(
        "quiz_attempt",
        *(sa.column(name) for name in ("id", "user_id", "bank_id", "number")),
        sa.column("is_passed", sa.Boolean()),
        sa.column("started_at", app.core.db.UTCDateTime()),
        sa.column("submitted_at", app.core.db.UTCDateTime()),
    )
    group = sa.table(
        "analytics_item_group",
        *(
            sa.column(name)
            for name in (
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
            )
        ),
    )
    learner = sa.table(
        "analytics_learner_bank",
        *(
            sa.column(name)
            for name in (
                "user_id",
                "bank_id",
                "attempts",
                "passed_attempts",
                "first_started_at",
                "first_passed_at",
                "last_submitted_at",
                "seconds_to_pass",
            )
        ),
    )
    totals = sa.table(
        "analytics_bank_total",
        *(
            sa.column(name)
            for name in (
                "bank_id",
                "shard",
                "learners",
                "submitted",
                "first_attempts",
                "first_passed",
                "passed",
            )
        ),
    )
    big = sa.BigInteger()
    # Inline (not a bound parameter), so PostgreSQL takes the GROUP BY's expression for the
    # select list's.
    shard = attempt.c.user_id % sa.literal_column(str(SHARDS), sa.Integer)

    # Item groups: rest points = the attempt's points (score x questions, whole after rounding
    # the 4-place score) less this item's.
    x = sa.case((response.c.is_correct.is_(True), 1), else_=0)
    points = sa.cast(
        sa.func.round(sa.cast(response.c.attempt_score * response.c.item_count, sa.Float)),
        sa.Integer,
    )
    per_item = (
        sa.select(
            response.c.quiz_version_id,
            response.c.question_id,
            response.c.item_count,
            sa.func.coalesce(response.c.chosen, "").label("chosen"),
            shard.label("shard"),
            response.c.bank_id,
            x.label("x"),
            (points - x).label("rest"),
        )
        .select_from(response.join(attempt, attempt.c.id == response.c.attempt_id))
        .subquery()
    )
    bind.execute(
        group.insert().from_select(
            [c.name for c in group.c],
            sa.select(
                per_item.c.quiz_version_id,
                per_item.c.question_id,
                per_item.c.item_count,
                per_item.c.chosen,
                per_item.c.shard,
                sa.func.min(per_item.c.bank_id),
                sa.func.count(),
                sa.func.sum(sa.cast(per_item.c.x, big)),
                sa.func.sum(sa.cast(per_item.c.rest, big)),
                sa.func.sum(sa.cast(per_item.c.x * per_item.c.rest, big)),
                sa.func.sum(sa.cast(per_item.c.rest * per_item.c.rest, big)),
            ).group_by(
                per_item.c.quiz_version_id,
                per_item.c.question_id,
                per_item.c.item_count,
                per_item.c.chosen,
                per_item.c.shard,
            ),
        )
    )

    # One row per learner and quiz with a submitted attempt; the first start counts attempts
    # never submitted too (as the report always did).
    submitted = attempt.c.submitted_at.is_not(None)
    passed = sa.and_(submitted, attempt.c.is_passed.is_(True))
    bind.execute(
        learner.insert().from_select(
            [
                "user_id",
                "bank_id",
                "attempts",
                "passed_attempts",
                "first_started_at",
                "first_passed_at",
                "last_submitted_at",
            ],
            sa.select(
                attempt.c.user_id,
                attempt.c.bank_id,
                sa.func.count(attempt.c.submitted_at),
                sa.func.sum(sa.case((passed, 1), else_=0)),
                sa.func.min(attempt.c.started_at),
                sa.func.min(sa.case((passed, attempt.c.submitted_at))),
                sa.func.max(attempt.c.submitted_at),
            )
            .group_by(attempt.c.user_id, attempt.c.bank_id)
            .having(sa.func.count(attempt.c.submitted_at) > 0),
        )
    )
    bind.execute(
        learner.update()
        .where(learner.c.first_passed_at.is_not(None))
        .values(
            seconds_to_pass=_seconds_between(
                bind, learner.c.first_started_at, learner.c.first_passed_at
            )
        )
    )

    first = attempt.c.number == 1
    bind.execute(
        totals.insert().from_select(
            [c.name for c in totals.c],
            sa.select(
                attempt.c.bank_id,
                shard,
                sa.func.count(sa.distinct(attempt.c.user_id)),
                sa.func.count(),
                sa.func.sum(sa.case((first, 1), else_=0)),
                sa.func.sum(sa.case((sa.and_(first, attempt.c.is_passed.is_(True)), 1), else_=0)),
                sa.func.count(
                    sa.distinct(sa.case((attempt.c.is_passed.is_(True), attempt.c.user_id)))
                ),
            )
            .where(submitted)
            .group_by(attempt.c.bank_id, shard),
        )
    )

    # Evaluation counts: every existing response, by the triggers' own definition, in one
    # statement (a trigger per row would update the same few rows once per response).
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(
            """INSERT INTO analytics_evaluation_count (course_id, question_id, kind, n)
            SELECT r.course_id, k.answer_key, k.answer_kind, count(*)
            FROM evaluation_response AS r, analytics_evaluation_kinds(r.answers) AS k
            GROUP BY r.course_id, k.answer_key, k.answer_kind"""
        )
    else:
        entries = _sqlite_entries("r", "evaluation_response")
        bind.exec_driver_sql(
            f"""INSERT INTO analytics_evaluation_count (course_id, question_id, kind, n)
            SELECT course_id, key, kind, count(*) FROM ({entries})
            WHERE kind IS NOT NULL GROUP BY course_id, key, kind"""  # noqa: S608 (constant DDL)
        )


def _seconds_between(bind: sa.Connection, start: Any, end: Any) -> Any:
    """end - start in seconds to the microsecond, as timedelta.total_seconds() gives it."""
    if bind.dialect.name == "postgresql":
        return sa.cast(sa.func.extract("epoch", end - start), sa.Float)
    # SQLite text "YYYY-MM-DD HH:MM:SS.ffffff": strftime on the first 19 characters (it rounds
    # fractions to milliseconds, which can carry into the second), microseconds from the rest.
    whole = sa.cast(sa.func.strftime("%s", sa.func.substr(end, 1, 19)), sa.Integer) - sa.cast(
        sa.func.strftime("%s", sa.func.substr(start, 1, 19)), sa.Integer
    )
    micros = sa.cast(sa.func.substr(end, 21, 6), sa.Integer) - sa.cast(
        sa.func.substr(start, 21, 6), sa.Integer
    )
    return (whole * 1_000_000 + micros) / sa.literal(1_000_000.0)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP TRIGGER analytics_evaluation_count ON evaluation_response")
        bind.exec_driver_sql("DROP FUNCTION analytics_evaluation_changed()")
        bind.exec_driver_sql("DROP FUNCTION analytics_evaluation_kinds(json)")
    else:
        for name in ("insert", "update", "delete"):
            bind.exec_driver_sql(f"DROP TRIGGER analytics_evaluation_{name}")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index("ix_user_full_name_id")
    with op.batch_alter_table("evaluation_response", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluation_response_course_newest")
    op.drop_table("analytics_evaluation_count")
    op.drop_table("analytics_bank_total")
    with op.batch_alter_table("analytics_learner_bank", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_learner_bank_bank_seconds")
    op.drop_table("analytics_learner_bank")
    with op.batch_alter_table("analytics_item_group", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_item_group_bank_id")
    op.drop_table("analytics_item_group")
