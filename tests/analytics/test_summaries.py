"""The analytics summaries kept at submission equal a full recomputation from the attempts:
after many submissions (retries, retakes after a pass, timed-out and abandoned attempts, two
versions of a quiz), after rebuilding, after the migration's backfill, and under parallel
submissions to the same quiz."""

import importlib.util
import random
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import and_
from sqlmodel import Session, col, delete, select

from app.accounts.models import User
from app.analytics import service as analytics
from app.analytics import summaries
from app.analytics.models import (
    BankTotals,
    EvaluationCount,
    ItemGroupSums,
    LearnerBankSummary,
)
from app.core.clock import utcnow
from app.core.db import writer
from app.courses import service as courses
from app.courses.models import Course
from app.quizzes import service as quizzes
from app.quizzes.errors import AttemptsExhausted, QuizLocked
from app.quizzes.models import EvaluationResponse, QuizBank, QuizVersion
from tests.analytics import reference
from tests.content_helpers import correct_answers, import_tree
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
MIGRATION = (
    Path(__file__).resolve().parents[2] / "alembic" / "versions" / "20261123_analytics_summaries.py"
)
SUMMARY_TABLES = (ItemGroupSums, LearnerBankSummary, BankTotals, EvaluationCount)


def _random_answers(snapshot, rng):
    """Right, wrong, partly right (multiple choice) or missing, question by question."""
    answers = {}
    for q in snapshot:
        roll = rng.random()
        if roll < 0.1:
            continue  # left unanswered
        right = roll < 0.65
        if q["type"] in ("single", "multiple"):
            good = [o["id"] for o in q["options"] if o["correct"]]
            bad = [o["id"] for o in q["options"] if not o["correct"]]
            if right:
                answers[q["id"]] = good
            elif q["type"] == "multiple" and rng.random() < 0.5:
                answers[q["id"]] = good[:1] + rng.sample(bad, k=rng.randint(0, len(bad)))
            else:
                answers[q["id"]] = [rng.choice(bad)]
        elif q["type"] == "true_false":
            answers[q["id"]] = q["answer"] if right else not q["answer"]
        else:
            answers[q["id"]] = float(q["answer"]) + (0 if right else rng.choice([1, 7.5]))
    return answers


def _play(session, course, learners, rng, clock):
    """Each learner works through the quizzes in order until locked out or out of attempts,
    sometimes abandoning or overrunning an attempt, sometimes retaking a passed quiz."""
    keys = [m.slug for m, _ in courses.active_modules(session, course)] + ["final"]
    for user in learners:
        for key in keys:
            passed = False
            for _ in range(4):
                clock[user.id] += timedelta(minutes=rng.randint(3, 90), seconds=rng.random())
                try:
                    started = quizzes.start_attempt(session, user, course, key, now=clock[user.id])
                except (QuizLocked, AttemptsExhausted):
                    break
                attempt = started.attempt
                if attempt.deadline_at is not None and rng.random() < 0.2:
                    # Abandoned: it expires, and the next start draws a new attempt.
                    clock[user.id] = attempt.deadline_at + timedelta(minutes=5)
                    continue
                took = timedelta(seconds=rng.randint(20, 900), microseconds=rng.randint(0, 999999))
                clock[user.id] += took
                answers = (
                    correct_answers(attempt.snapshot, _key(attempt.snapshot))
                    if rng.random() < 0.3
                    else _random_answers(attempt.snapshot, rng)
                )
                graded = quizzes.submit_attempt(
                    session, user, attempt.public_id, answers, now=clock[user.id]
                )
                again = passed  # a retake after a pass ends the quiz for this learner
                passed = passed or graded.passed
                if graded.passed and (again or rng.random() < 0.8):
                    break  # most learners move on; some retake a quiz they passed
            if not passed and rng.random() < 0.5:
                break


def _key(snapshot):
    return {
        q["id"]: {
            **q,
            "options": [{"text": o["text"], "correct": o["correct"]} for o in q["options"]],
        }
        for q in snapshot
    }


def _edit_quiz(root, key, change):
    path = root / "quizzes" / "demo-course" / f"{key}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _second_versions(data):
    if data["title"].startswith("Introduction"):
        data["questions"][0]["options"].append({"text": "kappa-opioid receptor"})
        data["questions"].append(
            {
                "id": "intro-route",
                "type": "true_false",
                "prompt": "Ketamine can be given intramuscularly.",
                "answer": True,
                "explanation": "It is also given intravenously and by mouth.",
                "reference": "#what-this-course-covers",
            }
        )
    else:
        data["draw"] = 1  # one question per attempt: no rest score to correlate with


@pytest.fixture
def busy_course(session, tmp_path):
    root = tmp_path / "content"
    shutil.copytree(DEMO, root)
    course = import_tree(session, root)[0]
    rng = random.Random(20261123)
    start = utcnow() - timedelta(days=60)
    learners = [make_user(session) for _ in range(10)]
    clock = {}
    for i, user in enumerate(learners):
        courses.enroll(session, user, course, now=start)
        clock[user.id] = start + timedelta(hours=i)
    _play(session, course, learners[:6], rng, clock)
    _edit_quiz(root, "intro", _second_versions)
    _edit_quiz(root, "final", _second_versions)
    course = import_tree(session, root)[0]
    for user in learners:
        clock[user.id] += timedelta(days=3)  # past every cooldown
    _play(session, course, learners, rng, clock)
    _evaluate(session, course, learners, rng, clock)
    session.commit()
    return course


def _evaluate(session, course, learners, rng, clock):
    """Evaluations with awkward answers; one is blanked later (as account deletion does), one
    deleted, one moved to a since-removed question id."""
    rows = []
    for user in learners:
        answers = {
            "objectives-met": rng.choice([1, 2, 3, 4, 5, 5, 3.0, True, "4", 0, None]),
            "comments": rng.choice(["Useful", "  ", "\u00a0", "x\u0000", "", 3, "Mehr Beispiele"]),
        }
        if rng.random() < 0.2:
            answers["retired-question"] = 4
        row = EvaluationResponse(
            user_id=user.id, course_id=course.id, answers=answers, submitted_at=clock[user.id]
        )
        session.add(row)
        rows.append(row)
    session.flush()
    rows[0].answers = {k: "" if isinstance(v, str) else v for k, v in rows[0].answers.items()}
    session.add(rows[0])
    session.delete(rows[1])
    session.flush()


def _banks(session, course):
    return {
        b.key: b.id
        for b in session.exec(select(QuizBank).where(QuizBank.course_id == course.id)).all()
    }


def _summary_rows(session, course):
    """Every summary row of this course, as plain tuples in key order."""
    bank_ids = list(_banks(session, course).values())
    out = {}
    for table in SUMMARY_TABLES:
        columns = list(table.__table__.c)
        keys = [c for c in columns if c.primary_key]
        mine = (
            col(table.course_id) == course.id
            if table is EvaluationCount
            else col(table.bank_id).in_(bank_ids)
        )
        if table is EvaluationCount:  # a count taken back to 0 keeps its row
            mine = and_(mine, col(EvaluationCount.n) != 0)
        rows = session.execute(select(*columns).where(mine).order_by(*keys)).all()
        out[table.__tablename__] = [tuple(r) for r in rows]
    return out


def _assert_the_scenario_is_varied(session, banks):
    versions = session.exec(
        select(QuizVersion.bank_id).where(col(QuizVersion.bank_id).in_(list(banks.values())))
    ).all()
    assert versions.count(banks["intro"]) == 2
    rows = session.exec(
        select(LearnerBankSummary).where(col(LearnerBankSummary.bank_id).in_(list(banks.values())))
    ).all()
    assert any(r.attempts >= 3 for r in rows)  # retries
    assert any(r.passed_attempts >= 2 for r in rows)  # a retake after passing
    assert any(r.first_passed_at is None for r in rows)  # never passed
    assert any(r.seconds_to_pass and r.seconds_to_pass != int(r.seconds_to_pass) for r in rows)
    sizes = session.exec(
        select(ItemGroupSums.item_count).where(col(ItemGroupSums.bank_id) == banks["final"])
    ).all()
    assert {1, 2} <= set(sizes)  # one-question attempts have no rest score


def test_report_from_summaries_equals_a_full_recomputation(session, busy_course):
    course = busy_course
    banks = _banks(session, course)
    _assert_the_scenario_is_varied(session, banks)
    report = analytics.course_report(session, course)

    for stats in [*report.modules, report.final_exam]:
        expected = reference.bank_figures(session, banks[stats.bank_key])
        assert stats.learners == expected.learners
        assert stats.first_attempts == expected.first_attempts
        assert stats.passed == expected.passed
        assert stats.first_attempt_pass_rate == pytest.approx(
            expected.first_passed / expected.first_attempts if expected.first_attempts else None
        )
        assert stats.mean_attempts == pytest.approx(
            expected.submitted / expected.learners if expected.learners else None
        )
        assert stats.median_seconds_to_pass == pytest.approx(expected.median_seconds, abs=1e-6)
    assert report.modules[0].learners > 0 and report.final_exam.learners > 0
    funnel = {s.key: s.count for s in report.funnel}
    for key, bank_id in banks.items():
        assert funnel[key] == reference.bank_figures(session, bank_id).passed

    items = reference.item_figures(session, list(banks.values()))
    reported = {(i.quiz_version_id, i.question_id): i for i in report.items if i.responses}
    assert set(reported) == set(items)
    for key, expected in items.items():
        item = reported[key]
        assert item.responses == expected.responses
        assert item.difficulty == pytest.approx(expected.difficulty)
        if expected.discrimination is None:
            assert item.discrimination is None
        else:
            assert item.discrimination == pytest.approx(expected.discrimination, rel=1e-9)
        assert sum(o.chosen for o in item.options) == sum(expected.chosen.values())
    assert any(i.discrimination is not None for i in reported.values())

    responses, likert, totals, texts = reference.evaluation_figures(session, course)
    evaluation = report.evaluation
    assert evaluation.responses == responses == 9  # ten evaluated, one deleted
    assert {q.question_id: q.counts for q in evaluation.likert} == likert
    assert {q.question_id: q.total for q in evaluation.text} == totals
    assert {q.question_id: q.answers for q in evaluation.text} == texts
    assert sum(likert["objectives-met"]) > 0 and totals["comments"] > 0

    learners = reference.learner_figures(session, [banks["intro"], banks["next"]], banks["final"])
    rows = list(analytics.iter_learners(session, course))
    page = analytics.learners(session, course, per_page=100)
    assert [r.model_dump() for r in page.rows] == [r.model_dump() for r in rows]
    for row in rows:
        expected = learners.get(row.user_id, reference.LearnerFigures())
        assert row.modules_passed == expected.modules_passed
        assert row.final_passed == expected.final_passed
        assert row.attempts == expected.attempts
        assert row.last_activity_at == (expected.last_at and expected.last_at.isoformat())
    counts = analytics.status_counts(session, course)
    assert sum(counts.values()) == len(rows)
    for status, n in counts.items():
        filtered = analytics.learners(session, course, status=status, per_page=100)
        assert filtered.total == n == sum(r.status == status for r in rows)


def test_rebuilding_gives_exactly_the_summaries_submissions_kept(session, busy_course):
    bank_ids = list(_banks(session, busy_course).values())
    kept = _summary_rows(session, busy_course)
    summaries.rebuild(session.connection(), bank_ids)
    summaries.rebuild_evaluation_counts(session.connection(), [busy_course.id])
    assert _summary_rows(session, busy_course) == kept


def _migration():
    spec = importlib.util.spec_from_file_location("analytics_summaries_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_backfill_gives_the_figures_of_a_live_database(session, busy_course):
    """An upgraded database shows what the summaries would have accumulated."""
    course = busy_course
    kept = _summary_rows(session, course)
    report = analytics.course_report(session, course).model_dump()
    for table in SUMMARY_TABLES:
        session.execute(delete(table))
    assert _summary_rows(session, course) == {t.__tablename__: [] for t in SUMMARY_TABLES}

    _migration().backfill(session.connection())

    assert _summary_rows(session, course) == kept
    assert analytics.course_report(session, course).model_dump() == report


# --- concurrency ------------------------------------------------------------------------------

PARALLEL = 8


@pytest.fixture
def committed_learners(engine, tmp_path):
    """A committed course and learners with an open intro attempt each (real transactions)."""
    root = tmp_path / "content"
    shutil.copytree(DEMO, root)
    emails = [f"summary-racer{i}@example.org" for i in range(PARALLEL)]
    with Session(writer(engine), expire_on_commit=False) as session:
        course = import_tree(session, root)[0]
        prepared = []
        for email in emails:
            user = make_user(session, email=email)
            courses.enroll(session, user, course, now=utcnow())
            attempt = quizzes.start_attempt(session, user, course, "intro", now=utcnow()).attempt
            prepared.append((user, attempt.public_id, attempt.snapshot))
        session.commit()
    try:
        yield course, prepared
    finally:
        with Session(writer(engine)) as session:
            session.exec(delete(User).where(col(User.email).in_(emails)))
            session.exec(delete(Course).where(col(Course.slug) == "demo-course"))
            session.commit()


def test_parallel_submissions_to_one_quiz_lose_no_increment(engine, committed_learners):
    course, prepared = committed_learners
    rng = random.Random(5)
    answers = [_random_answers(snapshot, rng) for _, _, snapshot in prepared]

    def submit(i):
        user, public_id, _ = prepared[i]
        with Session(writer(engine), expire_on_commit=False) as session:
            quizzes.submit_attempt(session, user, public_id, answers[i], now=utcnow())
            session.commit()

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(submit, range(PARALLEL)))

    with Session(engine) as session:
        bank_ids = list(_banks(session, course).values())
        kept = _summary_rows(session, course)
        totals = session.exec(
            select(BankTotals).where(col(BankTotals.bank_id) == _banks(session, course)["intro"])
        ).all()
        assert len(totals) > 1  # learners' submissions are spread over shard rows
        assert sum(t.learners for t in totals) == PARALLEL
        assert sum(t.submitted for t in totals) == PARALLEL
        groups = session.exec(
            select(ItemGroupSums).where(col(ItemGroupSums.bank_id).in_(bank_ids))
        ).all()
        assert sum(g.responses for g in groups) == 2 * PARALLEL  # two questions each
        summaries.rebuild(session.connection(), bank_ids)
        assert _summary_rows(session, course) == kept
        session.rollback()
