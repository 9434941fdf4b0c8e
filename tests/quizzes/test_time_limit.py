from datetime import timedelta
from pathlib import Path

from app.core.clock import utcnow
from app.courses import service as courses
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.quizzes.models import QuizVersion
from tests.content_helpers import answer_key, correct_answers, import_tree
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"


def test_submission_after_the_time_limit_is_graded_as_unanswered(session):
    course = import_tree(session, DEMO)[0]
    user = make_user(session)
    now = utcnow()
    courses.enroll(session, user, course, now=now)
    _, version = quizzes.get_bank(session, course, "intro")
    version = session.get(QuizVersion, version.id)
    version.time_limit_minutes = 10
    session.add(version)
    session.flush()
    started = quizzes.start_attempt(session, user, course, "intro", now=now)
    assert started.attempt.deadline_at == now + timedelta(minutes=10)
    answers = correct_answers(
        grading.public_questions(started.attempt.snapshot), answer_key(DEMO, "demo-course", "intro")
    )
    late = now + timedelta(minutes=11)
    graded = quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=late)
    assert graded.timed_out is True
    assert graded.passed is False and graded.score == 0.0


def test_an_expired_open_attempt_is_not_resumed(session):
    course = import_tree(session, DEMO)[0]
    user = make_user(session)
    now = utcnow()
    courses.enroll(session, user, course, now=now)
    _, version = quizzes.get_bank(session, course, "intro")
    version = session.get(QuizVersion, version.id)
    version.time_limit_minutes = 5
    session.add(version)
    session.flush()
    first = quizzes.start_attempt(session, user, course, "intro", now=now)
    second = quizzes.start_attempt(session, user, course, "intro", now=now + timedelta(minutes=10))
    assert second.attempt.public_id != first.attempt.public_id
