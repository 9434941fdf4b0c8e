"""Importing content into the test database and answering quizzes from the authored keys."""

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session

from app.core.clock import utcnow
from app.courses.models import Course
from app.studio import importer
from app.studio.parsing import load_content

ROOT = Path(__file__).resolve().parents[1]
KAT = "ketamine-assisted-therapy"


def import_tree(session: Session, root: Path = ROOT) -> list[Course]:
    report = load_content(root, today=date(2026, 11, 23))
    assert report.errors == [], [str(p) for p in report.errors]
    importer.import_specs(session, report.courses, now=utcnow())
    session.commit()
    return [
        session.exec(__import__("sqlmodel").select(Course).where(Course.slug == c.slug)).one()
        for c in report.courses
    ]


def answer_key(root: Path, course: str, bank: str) -> dict[str, dict[str, Any]]:
    """question id -> the authored question (with its correct options and answers)."""
    data = yaml.safe_load((root / "quizzes" / course / f"{bank}.yaml").read_text())
    return {q["id"]: q for q in data["questions"]}


def correct_answers(
    questions: list[dict[str, Any]], key: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The right answer to every question an attempt drew, matched by option text."""
    answers: dict[str, Any] = {}
    for q in questions:
        authored = key[q["id"]]
        if q["type"] in ("single", "multiple"):
            right = {o["text"].strip() for o in authored["options"] if o.get("correct")}
            answers[q["id"]] = [o["id"] for o in q["options"] if o["text"].strip() in right]
        else:
            answers[q["id"]] = authored["answer"]
    return answers


def wrong_answers(
    questions: list[dict[str, Any]], key: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for q in questions:
        authored = key[q["id"]]
        if q["type"] in ("single", "multiple"):
            right = {o["text"].strip() for o in authored["options"] if o.get("correct")}
            answers[q["id"]] = [
                next(o["id"] for o in q["options"] if o["text"].strip() not in right)
            ]
        elif q["type"] == "true_false":
            answers[q["id"]] = not authored["answer"]
        else:
            answers[q["id"]] = float(authored["answer"]) + 1000
    return answers


def complete_course(session: Session, user: Any, course: Course, root: Path) -> None:
    """Drives the services the way a learner does: every module quiz, the final, the evaluation."""
    from app.courses import service as courses
    from app.quizzes import grading
    from app.quizzes import service as quizzes

    now = utcnow()
    courses.enroll(session, user, course, now=now)
    keys = [m.slug for m, _ in courses.active_modules(session, course)] + ["final"]
    for key in keys:
        started = quizzes.start_attempt(session, user, course, key, now=now)
        questions = grading.public_questions(started.attempt.snapshot)
        answers = correct_answers(questions, answer_key(root, course.slug, key))
        assert quizzes.submit_attempt(
            session, user, started.attempt.public_id, answers, now=now
        ).passed
    answers = {q["id"]: (5 if q["type"] == "likert" else "") for q in course.evaluation}
    quizzes.submit_evaluation(session, user, course, answers, now=now)
    session.commit()
