"""Evaluation results counted in SQL agree with reading every response in Python, on awkward
answers too: ratings stored as floats, strings or booleans, blank text in odd whitespace,
more text answers than the page shows."""

import uuid
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from app.accounts.models import User
from app.analytics import service as analytics
from app.analytics.models import EvaluationCount
from app.core.clock import utcnow
from app.quizzes.models import EvaluationResponse
from tests.content_helpers import import_tree

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"

AWKWARD = [
    {"objectives-met": 3, "comments": "  Useful  "},
    {"objectives-met": 3.0, "comments": "\u00a0\u2003\t"},  # a float rating; blank text
    {"objectives-met": True, "comments": "\u3000Mehr Beispiele\u2029"},
    {"objectives-met": "4", "comments": 7},
    {"objectives-met": 0, "comments": ""},
    {"objectives-met": 6, "comments": None},
    {"objectives-met": None},
    {"comments": "\x1c"},  # a separator Python counts as whitespace
    {"objectives-met": 5, "comments": "Ünïcödé ✓", "unknown": 4},
    {},
]


def _learner(session, n):
    user = User(
        email=f"eval-{uuid.uuid4().hex[:8]}-{n}@example.org",
        full_name=f"Evaluator {n}",
        password_hash="x",
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def _by_reading_everything(session, course):
    """The report's definition, applied to every response in Python (newest first)."""
    likert, totals, texts, responses = [0] * 5, 0, [], 0
    rows = session.exec(
        select(EvaluationResponse)
        .where(EvaluationResponse.course_id == course.id)
        .order_by(col(EvaluationResponse.submitted_at).desc(), col(EvaluationResponse.id).desc())
    )
    for row in rows:
        responses += 1
        rating = row.answers.get("objectives-met")
        if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5:
            likert[rating - 1] += 1
        comment = row.answers.get("comments")
        if isinstance(comment, str) and comment.strip():
            totals += 1
            if len(texts) < analytics.TEXT_ANSWERS_SHOWN:
                texts.append(comment.strip())
    return responses, likert, totals, texts


def test_sql_counts_match_reading_every_response(session):
    course = import_tree(session, DEMO)[0]
    start = utcnow() - timedelta(days=10)
    answers = AWKWARD + [
        {"objectives-met": 1 + n % 5, "comments": f"comment {n}" if n % 3 else " "}
        for n in range(170)
    ]
    for n, a in enumerate(answers):
        session.add(
            EvaluationResponse(
                user_id=_learner(session, n).id,
                course_id=course.id,
                answers=a,
                submitted_at=start + timedelta(minutes=n // 2),  # ties broken by id
            )
        )
    session.flush()

    result = analytics.evaluation_results(session, course)
    responses, likert, total, texts = _by_reading_everything(session, course)
    assert result.responses == responses == len(answers)
    assert result.likert[0].counts == likert
    assert result.likert[0].responses == sum(likert)
    (comments,) = result.text
    assert comments.total == total
    assert comments.answers == texts
    assert len(texts) == analytics.TEXT_ANSWERS_SHOWN


def test_awkward_answers_alone(session):
    course = import_tree(session, DEMO)[0]
    for n, a in enumerate(AWKWARD):
        session.add(
            EvaluationResponse(
                user_id=_learner(session, n).id,
                course_id=course.id,
                answers=a,
                submitted_at=utcnow() + timedelta(seconds=n),
            )
        )
    session.flush()
    result = analytics.evaluation_results(session, course)
    assert result.likert[0].counts == [0, 0, 1, 0, 1]  # 3 and 5; not 3.0, True, "4", 0, 6
    (comments,) = result.text
    assert comments.total == 3
    assert comments.answers == ["Ünïcödé ✓", "Mehr Beispiele", "Useful"]


def _add(session, course, answers, at):
    row = EvaluationResponse(
        user_id=_learner(session, 0).id, course_id=course.id, answers=answers, submitted_at=at
    )
    session.add(row)
    session.flush()
    return row


def _matches_reading(session, course):
    result = analytics.evaluation_results(session, course)
    responses, likert, total, texts = _by_reading_everything(session, course)
    assert result.responses == responses
    assert result.likert[0].counts == likert
    assert result.text[0].total == total
    assert result.text[0].answers == texts
    return result


def test_counts_follow_blanking_moving_and_deleting_responses(session):
    course = import_tree(session, DEMO)[0]
    now = utcnow()
    rows = [_add(session, course, a, now + timedelta(seconds=n)) for n, a in enumerate(AWKWARD)]
    _matches_reading(session, course)
    for row in rows[:3]:  # what deleting an account does to free text
        row.answers = {k: "" if isinstance(v, str) else v for k, v in row.answers.items()}
        session.add(row)
    session.flush()
    assert _matches_reading(session, course).text[0].total == 1
    session.delete(rows[8])
    session.flush()
    result = _matches_reading(session, course)
    assert (result.text[0].total, result.likert[0].counts) == (0, [0, 0, 1, 0, 0])


def test_answers_postgresql_cannot_take_apart_are_counted_by_reading(session):
    """A lone surrogate escape is valid JSON text to PostgreSQL's json type, but its JSON
    functions refuse it: the trigger sets that response aside instead of failing the write,
    and the report counts the course in Python until it is gone."""
    course = import_tree(session, DEMO)[0]
    now = utcnow()
    _add(session, course, {"objectives-met": 2, "comments": "fine"}, now)
    odd = _add(session, course, {"objectives-met": 4, "comments": "\ud800 odd"}, now)
    result = _matches_reading(session, course)
    assert result.likert[0].counts == [0, 1, 0, 1, 0]
    assert result.text[0].total == 2
    on_postgres = session.get_bind().dialect.name == "postgresql"
    assert _unparsed(session, course) == (1 if on_postgres else 0)  # SQLite reads it fine
    session.delete(odd)
    session.flush()
    result = _matches_reading(session, course)
    assert (result.likert[0].counts, result.text[0].total) == ([0, 1, 0, 0, 0], 1)
    assert _unparsed(session, course) == 0


def _unparsed(session, course):
    counts = session.exec(
        select(EvaluationCount.n).where(
            EvaluationCount.course_id == course.id, EvaluationCount.kind == "unparsed"
        )
    ).all()
    return sum(counts)
