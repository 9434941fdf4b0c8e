"""Funnel, per-module numbers, evaluation and learner table on a small set of learners."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from app.analytics import service as analytics
from app.core.clock import utcnow
from app.courses import service as courses
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.quizzes.models import EvaluationResponse
from tests.content_helpers import (
    answer_key,
    complete_course,
    correct_answers,
    import_tree,
    wrong_answers,
)
from tests.factories import api_token, bearer, make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"


def _take(session, user, course, key, *, start, submit, right):
    started = quizzes.start_attempt(session, user, course, key, now=start)
    questions = grading.public_questions(started.attempt.snapshot)
    keyed = answer_key(DEMO, course.slug, key)
    answers = correct_answers(questions, keyed) if right else wrong_answers(questions, keyed)
    return quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=submit)


@pytest.fixture
def cohort(client, session):
    """A: everything and a certificate; B: everything but the certificate; C: intro on the
    second try (300 s after first starting); E: intro first time after 600 s; D: enrolled only."""
    course = import_tree(session, DEMO)[0]
    people = {
        k: make_user(session, full_name=f"Learner {k}", email=f"learner-{k.lower()}@example.org")
        for k in "ABCDE"
    }
    session.commit()
    complete_course(session, people["A"], course, DEMO)
    complete_course(session, people["B"], course, DEMO)
    t0 = utcnow()
    for k in "CDE":
        courses.enroll(session, people[k], course, now=t0)
    c, e = people["C"], people["E"]
    assert not _take(
        session, c, course, "intro", start=t0, submit=t0 + timedelta(seconds=60), right=False
    ).passed
    assert _take(
        session,
        c,
        course,
        "intro",
        start=t0 + timedelta(seconds=120),
        submit=t0 + timedelta(seconds=300),
        right=True,
    ).passed
    assert _take(
        session, e, course, "intro", start=t0, submit=t0 + timedelta(seconds=600), right=True
    ).passed
    session.add(
        EvaluationResponse(
            user_id=c.id,
            course_id=course.id,
            answers={"objectives-met": 3, "comments": "More examples please"},
            submitted_at=t0,
        )
    )
    session.commit()
    claim = client.post(
        "/api/v1/courses/demo-course/certificate",
        headers=bearer(api_token(client, people["A"].email)),
    )
    assert claim.status_code == 201, claim.text
    return course, people


def test_funnel_counts_each_step(session, cohort):
    course, _ = cohort
    report = analytics.course_report(session, course)
    assert [(s.key, s.count) for s in report.funnel] == [
        ("enrolled", 5),
        ("intro", 4),
        ("next", 2),
        ("final", 2),
        ("certificate", 1),
    ]


def test_module_statistics(session, cohort):
    course, _ = cohort
    report = analytics.course_report(session, course)
    intro, following = report.modules
    assert intro.bank_key == "intro"
    assert intro.learners == 4
    assert intro.first_attempts == 4
    assert intro.first_attempt_pass_rate == pytest.approx(3 / 4)  # C failed the first try
    assert intro.mean_attempts == pytest.approx(5 / 4)
    assert intro.passed == 4
    # A and B: 0 s (one moment); C: 300 s; E: 600 s. Median of 0, 0, 300, 600.
    assert intro.median_seconds_to_pass == pytest.approx(150, abs=0.01)
    assert following.learners == 2
    assert following.first_attempt_pass_rate == 1
    assert report.final_exam is not None
    assert report.final_exam.passed == 2


def test_evaluation_distribution_mean_and_text(session, cohort):
    course, _ = cohort
    evaluation = analytics.course_report(session, course).evaluation
    assert evaluation.responses == 3
    (likert,) = evaluation.likert
    assert likert.counts == [0, 0, 1, 0, 2]
    assert likert.mean == pytest.approx((3 + 5 + 5) / 3)
    (text,) = evaluation.text
    assert text.total == 1
    assert text.answers == ["More examples please"]


def test_learner_statuses_filters_and_search(session, cohort):
    course, _ = cohort
    report = analytics.course_report(session, course)
    assert report.status_counts == {
        "not_started": 1,
        "in_progress": 2,
        "final_passed": 1,
        "certified": 1,
    }
    page = analytics.learners(session, course)
    by_name = {r.full_name: r for r in page.rows}
    assert page.total == 5
    assert by_name["Learner A"].status == "certified"
    assert by_name["Learner A"].certificate_code
    assert by_name["Learner A"].progress_percent == 100
    assert by_name["Learner C"].modules_passed == 1
    assert by_name["Learner C"].attempts == 2
    assert by_name["Learner C"].evaluation_submitted
    assert by_name["Learner D"].status == "not_started"
    assert by_name["Learner D"].last_activity_at is None
    in_progress = analytics.learners(session, course, status="in_progress")
    assert sorted(r.full_name for r in in_progress.rows) == ["Learner C", "Learner E"]
    found = analytics.learners(session, course, query="LEARNER-b@")
    assert [r.full_name for r in found.rows] == ["Learner B"]
    paged = analytics.learners(session, course, page=2, per_page=2)
    assert [r.full_name for r in paged.rows] == ["Learner C", "Learner D"]


def test_csv_columns_and_filter(session, cohort):
    course, _ = cohort
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(analytics.CSV_COLUMNS)
    for row in analytics.iter_learners(session, course, status="certified"):
        writer.writerow(analytics.learner_csv_row(row))
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == [
        "full_name",
        "email",
        "enrolled_at",
        "status",
        "progress_percent",
        "modules_passed",
        "modules_total",
        "final_passed",
        "evaluation_submitted",
        "certificate_code",
        "attempts",
        "last_activity_at",
    ]
    assert len(rows) == 2
    assert rows[1][:9] == [
        "Learner A",
        "learner-a@example.org",
        rows[1][2],
        "certified",
        "100",
        "2",
        "2",
        "yes",
        "yes",
    ]
