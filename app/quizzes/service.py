"""Quizzes: starting attempts (gated and limited), grading exactly once, course evaluations."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.analytics import summaries as analytics_summaries
from app.audit import service as audit
from app.core.clock import as_utc
from app.core.db import rowcount
from app.core.errors import Invalid
from app.courses import service as courses
from app.courses.errors import ModuleNotFound
from app.courses.models import Course
from app.quizzes import grading
from app.quizzes.errors import (
    AlreadySubmitted,
    AttemptNotFound,
    AttemptsExhausted,
    EvaluationAlreadySubmitted,
    QuizLocked,
)
from app.quizzes.models import (
    EvaluationResponse,
    QuizAttempt,
    QuizBank,
    QuizItemResponse,
    QuizVersion,
)

FINAL = "final"
GRACE_SECONDS = 30  # network latency allowance on the time limit


@dataclass
class StartedAttempt:
    attempt: QuizAttempt
    version: QuizVersion
    attempts_used: int


def passed_bank_keys(session: Session, user: User, course: Course) -> set[str]:
    """Keys ("<module-slug>" or "final") of the banks this learner has passed in this course."""
    rows = session.exec(
        select(QuizBank.key)
        .join(QuizAttempt, col(QuizAttempt.bank_id) == QuizBank.id)
        .where(
            QuizBank.course_id == course.id,
            QuizAttempt.user_id == user.id,
            col(QuizAttempt.is_passed).is_(True),
        )
        .distinct()
    )
    return set(rows)


def has_evaluation(session: Session, user: User, course: Course) -> bool:
    return (
        session.exec(
            select(EvaluationResponse.id).where(
                EvaluationResponse.user_id == user.id, EvaluationResponse.course_id == course.id
            )
        ).first()
        is not None
    )


def get_bank(session: Session, course: Course, key: str) -> tuple[QuizBank, QuizVersion]:
    row = session.exec(
        select(QuizBank, QuizVersion)
        .join(QuizVersion, col(QuizVersion.id) == QuizBank.current_version_id)
        .where(QuizBank.course_id == course.id, QuizBank.key == key)
    ).first()
    if row is None:
        raise ModuleNotFound(f"no quiz {key!r} in this course")
    return row[0], row[1]


def _require_open(session: Session, user: User, course: Course, key: str) -> None:
    progress = courses.progress(session, user, course)
    if progress.enrollment is None:
        raise QuizLocked("enrol in the course first")
    if key == FINAL:
        if progress.final_exam_state == courses.LOCKED:
            missing = [m.version.title for m in progress.modules if m.state != courses.PASSED]
            raise QuizLocked(
                "the final exam opens when every module is passed; still to pass: "
                + ", ".join(missing),
                missing=missing,
            )
        return
    state = courses.module_state(progress, key)
    if state.state == courses.LOCKED:
        raise QuizLocked(
            "this quiz is locked: first pass " + ", ".join(state.missing), missing=state.missing
        )


def _open_attempt(
    session: Session, user: User, bank: QuizBank, now: datetime
) -> QuizAttempt | None:
    attempt = session.exec(
        select(QuizAttempt)
        .where(
            QuizAttempt.user_id == user.id,
            QuizAttempt.bank_id == bank.id,
            col(QuizAttempt.submitted_at).is_(None),
        )
        .order_by(col(QuizAttempt.number).desc())
    ).first()
    if attempt is None:
        return None
    if (
        attempt.deadline_at is not None
        and attempt.deadline_at + timedelta(seconds=GRACE_SECONDS) < now
    ):
        return None
    return attempt


def start_attempt(
    session: Session, user: User, course: Course, key: str, *, now: datetime
) -> StartedAttempt:
    """Draws a new attempt (or returns the learner's open one). Raises QuizLocked, or
    AttemptsExhausted with ``retry_after`` once max_attempts fall inside the cooldown window."""
    _require_open(session, user, course, key)
    bank, version = get_bank(session, course, key)
    assert user.id is not None and bank.id is not None and version.id is not None  # noqa: S101
    window_start = now - timedelta(hours=version.cooldown_hours)
    for _ in range(3):  # a racing start that takes our number makes us look again
        # Read order matters under READ COMMITTED: the highest number first, then the count, then
        # the open attempt. A racing start committed before the first read is seen (resumed) by
        # the later reads; one committed after it collides on (user, bank, number) and we retry.
        last = session.exec(
            select(func.max(QuizAttempt.number)).where(
                QuizAttempt.user_id == user.id, QuizAttempt.bank_id == bank.id
            )
        ).one()
        used, oldest = session.exec(
            select(func.count(), func.min(QuizAttempt.started_at)).where(
                QuizAttempt.user_id == user.id,
                QuizAttempt.bank_id == bank.id,
                col(QuizAttempt.started_at) > window_start,
            )
        ).one()
        open_attempt = _open_attempt(session, user, bank, now)
        if open_attempt is not None:
            opened = session.get(QuizVersion, open_attempt.quiz_version_id) or version
            return StartedAttempt(attempt=open_attempt, version=opened, attempts_used=used)
        if used >= version.max_attempts:
            opens_at = as_utc(oldest) + timedelta(hours=version.cooldown_hours)
            raise AttemptsExhausted(
                f"no attempts left: the next attempt opens at {opens_at.isoformat()}",
                retry_after=max(1, int((opens_at - now).total_seconds()) + 1),
                opens_at=opens_at.isoformat(),
            )
        attempt = QuizAttempt(
            public_id=str(uuid.uuid4()),
            user_id=user.id,
            bank_id=bank.id,
            quiz_version_id=version.id,
            number=(last or 0) + 1,
            snapshot=grading.draw_snapshot(version.questions, version.draw),
            pass_mark=version.pass_mark,
            reveal=version.reveal,
            started_at=now,
            deadline_at=(
                now + timedelta(minutes=version.time_limit_minutes)
                if version.time_limit_minutes
                else None
            ),
        )
        try:
            with session.begin_nested():
                session.add(attempt)
        except IntegrityError:
            continue
        return StartedAttempt(attempt=attempt, version=version, attempts_used=used + 1)
    raise AttemptsExhausted("too many simultaneous attempts; try again", retry_after=1)


def get_attempt(session: Session, user: User, attempt_id: str) -> QuizAttempt:
    """The learner's own attempt; raises AttemptNotFound (also for someone else's)."""
    attempt = session.exec(select(QuizAttempt).where(QuizAttempt.public_id == attempt_id)).first()
    if attempt is None or attempt.user_id != user.id:
        raise AttemptNotFound("no such attempt")
    return attempt


def _item_responses(
    authored: list[dict[str, Any]],
    snapshot: list[dict[str, Any]],
    answers: dict[str, Any],
    graded: grading.Grade,
) -> list[dict[str, Any]]:
    """quiz_item_response values (without attempt, bank, version, time) for a graded attempt;
    ``chosen`` encodes options as positions in the authored question (see QuizItemResponse)."""
    positions: dict[str, dict[str, int]] = {}
    for q in authored:
        by_text: dict[str, int] = {}
        for i, o in enumerate(q.get("options", [])):
            by_text.setdefault(str(o.get("text", "")).strip(), i)
        positions[str(q["id"])] = by_text
    correct = {r.question_id: r.correct for r in graded.results}
    rows = []
    for q in snapshot:
        qid = str(q["id"])
        answer = answers.get(qid)
        chosen: str | None = None
        if q["type"] == "true_false" and isinstance(answer, bool):
            chosen = "0" if answer else "1"
        elif q["type"] in ("single", "multiple") and answer is not None:
            ids = {answer} if isinstance(answer, str) else set(answer)
            texts = {o["id"]: str(o.get("text", "")).strip() for o in q["options"]}
            by_text = positions.get(qid, {})
            picked = sorted({by_text[texts[i]] for i in ids if i in texts and texts[i] in by_text})
            chosen = ",".join(map(str, picked)) or None
        rows.append(
            {
                "question_id": qid,
                "chosen": chosen,
                "is_correct": bool(correct.get(qid)),
                "attempt_score": graded.score,
                "item_count": len(snapshot),
            }
        )
    return rows


def submit_attempt(
    session: Session, user: User, attempt_id: str, answers: dict[str, Any], *, now: datetime
) -> grading.Grade:
    """Grades an attempt exactly once; raises AlreadySubmitted on a repeat (even a racing one).
    A submission after the time limit is graded as if unanswered."""
    attempt = get_attempt(session, user, attempt_id)
    if attempt.submitted_at is not None:
        raise AlreadySubmitted("this attempt was already submitted")
    grading.validate_answers(attempt.snapshot, answers)
    timed_out = attempt.deadline_at is not None and now > attempt.deadline_at + timedelta(
        seconds=GRACE_SECONDS
    )
    if timed_out:
        graded = grading.timed_out_grade(
            attempt.snapshot, pass_mark=attempt.pass_mark, reveal=attempt.reveal
        )
    else:
        graded = grading.grade(
            attempt.snapshot, answers, pass_mark=attempt.pass_mark, reveal=attempt.reveal
        )
    results = [r.__dict__ for r in graded.results]
    # A conditional UPDATE, not read-then-write: two racing submits must not both count.
    claimed = rowcount(
        session.execute(
            update(QuizAttempt)
            .where(col(QuizAttempt.id) == attempt.id, col(QuizAttempt.submitted_at).is_(None))
            .values(
                submitted_at=now,
                score=graded.score,
                is_passed=graded.passed,
                answers=answers,
                results=results,
            )
        )
    )
    if claimed == 0:
        raise AlreadySubmitted("this attempt was already submitted")
    version = session.get(QuizVersion, attempt.quiz_version_id)
    items = [
        {
            **row,
            "attempt_id": attempt.id,
            "bank_id": attempt.bank_id,
            "quiz_version_id": attempt.quiz_version_id,
            "submitted_at": now,
        }
        for row in _item_responses(
            version.questions if version else [],
            attempt.snapshot,
            {} if graded.timed_out else answers,
            graded,
        )
    ]
    if items:
        # One narrow row per question, in this transaction, so item analysis never reads JSON.
        session.execute(insert(QuizItemResponse), items)
    analytics_summaries.record_submission(session, attempt, items, passed=graded.passed, now=now)
    session.refresh(attempt)
    audit.record(
        session,
        "attempt.grade",
        attempt.public_id,
        {
            "bank_id": attempt.bank_id,
            "score": graded.score,
            "passed": graded.passed,
            "timed_out": graded.timed_out,
        },
        actor_id=user.id,
        now=now,
    )
    return graded


def attempt_course(session: Session, attempt: QuizAttempt) -> tuple[Course, QuizBank]:
    bank = session.get(QuizBank, attempt.bank_id)
    assert bank is not None  # noqa: S101
    course = session.get(Course, bank.course_id)
    assert course is not None  # noqa: S101
    return course, bank


# --- course evaluation ---------------------------------------------------------------------


def evaluation_questions(course: Course) -> list[dict[str, Any]]:
    return list(course.evaluation)


def submit_evaluation(
    session: Session, user: User, course: Course, answers: dict[str, Any], *, now: datetime
) -> EvaluationResponse:
    """Stores the learner's one evaluation; raises Invalid naming the first bad answer."""
    progress = courses.progress(session, user, course)
    if progress.evaluation_state == courses.SUBMITTED:
        raise EvaluationAlreadySubmitted("you already submitted the evaluation")
    if progress.evaluation_state == courses.LOCKED:
        raise QuizLocked("the evaluation opens after you pass the final exam")
    questions = {q["id"]: q for q in course.evaluation}
    clean: dict[str, Any] = {}
    for qid in answers:
        if qid not in questions:
            raise Invalid(f"unknown evaluation question {qid!r}")
    for qid, q in questions.items():
        value = answers.get(qid)
        if value in (None, ""):
            if q["required"]:
                raise Invalid(f"please answer: {q['prompt']}", field=qid)
            continue
        if q["type"] == "likert":
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = 0
            if isinstance(value, bool) or number < 1 or number > 5 or str(number) != str(value):
                raise Invalid(f"{qid}: choose a rating from 1 to 5", field=qid)
            clean[qid] = number
        else:
            text = str(value).strip()
            if len(text) > 5000:
                raise Invalid(f"{qid}: keep the answer under 5,000 characters", field=qid)
            clean[qid] = text
    assert user.id is not None and course.id is not None  # noqa: S101
    response = EvaluationResponse(
        user_id=user.id, course_id=course.id, answers=clean, submitted_at=now
    )
    try:
        with session.begin_nested():
            session.add(response)
    except IntegrityError as exc:
        raise EvaluationAlreadySubmitted("you already submitted the evaluation") from exc
    return response


def completed_at(session: Session, user: User, course: Course) -> datetime | None:
    """When the learner met the last requirement (final exam passed, evaluation submitted)."""
    final_at = session.exec(
        select(func.max(QuizAttempt.submitted_at))
        .join(QuizBank, col(QuizBank.id) == QuizAttempt.bank_id)
        .where(
            QuizBank.course_id == course.id,
            QuizBank.key == FINAL,
            QuizAttempt.user_id == user.id,
            col(QuizAttempt.is_passed).is_(True),
        )
    ).one()
    evaluated_at = session.exec(
        select(EvaluationResponse.submitted_at).where(
            EvaluationResponse.user_id == user.id, EvaluationResponse.course_id == course.id
        )
    ).first()
    moments = [as_utc(m) for m in (final_at, evaluated_at) if m is not None]
    return max(moments) if moments else None


def best_final_score(
    session: Session, user: User, course: Course, *, since: datetime | None = None
) -> float | None:
    """The best score of the learner's passing final-exam attempts (submitted after `since`)."""
    query = (
        select(func.max(QuizAttempt.score))
        .join(QuizBank, col(QuizBank.id) == QuizAttempt.bank_id)
        .where(
            QuizBank.course_id == course.id,
            QuizBank.key == FINAL,
            QuizAttempt.user_id == user.id,
            col(QuizAttempt.is_passed).is_(True),
        )
    )
    if since is not None:
        query = query.where(col(QuizAttempt.submitted_at) > since)
    return session.exec(query).one()


def passed_attempts(session: Session, user: User, course: Course) -> list[dict[str, Any]]:
    """The first passing attempt of each bank: the credit basis accreditors ask for."""
    rows = session.exec(
        select(QuizBank.key, QuizAttempt)
        .join(QuizAttempt, col(QuizAttempt.bank_id) == QuizBank.id)
        .where(
            QuizBank.course_id == course.id,
            QuizAttempt.user_id == user.id,
            col(QuizAttempt.is_passed).is_(True),
        )
        .order_by(col(QuizAttempt.submitted_at))
    )
    seen: dict[str, dict[str, Any]] = {}
    for key, attempt in rows:
        if key not in seen and attempt.submitted_at is not None:
            seen[key] = {
                "quiz": key,
                "attempt_id": attempt.public_id,
                "attempt_number": attempt.number,
                "score": attempt.score,
                "pass_mark": attempt.pass_mark,
                "submitted_at": as_utc(attempt.submitted_at).isoformat(),
            }
    return list(seen.values())
