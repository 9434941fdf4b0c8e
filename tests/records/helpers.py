"""A learner who completed the demo course (with an evaluation comment) and their certificate."""

from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from app.accounts.models import User
from app.certificates import service as certificates
from app.certificates.models import Certificate
from app.core.clock import utcnow
from app.core.settings import Settings
from app.courses import service as courses
from app.courses.models import Course
from app.quizzes import grading
from app.quizzes import service as quizzes
from tests.content_helpers import answer_key, correct_answers, import_tree

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
COMMENT = "My supervisor Jo Bloggs at Riverside Clinic suggested this course."


def demo_course(session: Session) -> Course:
    return import_tree(session, DEMO)[0]


def complete(
    session: Session, user: User, course: Course, *, now: datetime, comment: str = COMMENT
) -> None:
    """Every module quiz and the final passed, the evaluation submitted with a comment."""
    courses.enroll(session, user, course, now=now)
    for key in [m.slug for m, _ in courses.active_modules(session, course)] + ["final"]:
        started = quizzes.start_attempt(session, user, course, key, now=now)
        questions = grading.public_questions(started.attempt.snapshot)
        answers = correct_answers(questions, answer_key(DEMO, course.slug, key))
        assert quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=now)
    answers = {q["id"]: (4 if q["type"] == "likert" else comment) for q in course.evaluation}
    quizzes.submit_evaluation(session, user, course, answers, now=now)
    session.commit()


def certify(
    session: Session,
    user: User,
    course: Course,
    settings: Settings,
    *,
    now: datetime | None = None,
) -> Certificate:
    when = now or utcnow()
    complete(session, user, course, now=when)
    cert, created = certificates.issue_certificate(
        session, user, course, now=when, settings=settings
    )
    assert created
    session.commit()
    return cert
