"""The course report's quiz figures recomputed the slow way: every attempt and every item
response, in Python, with the definitions the report has always used. Tests compare the
summaries-based report against this."""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.analytics.items import pearson
from app.core.clock import as_utc
from app.quizzes.models import QuizAttempt, QuizItemResponse


@dataclass
class BankFigures:
    learners: int = 0
    submitted: int = 0
    first_attempts: int = 0
    first_passed: int = 0
    passed: int = 0
    median_seconds: float | None = None


@dataclass
class ItemFigures:
    responses: int = 0
    correct: int = 0
    xs: list[int] = field(default_factory=list)  # responses with a rest score
    ys: list[float] = field(default_factory=list)
    chosen: dict[int, int] = field(default_factory=dict)  # authored position -> picks

    @property
    def difficulty(self) -> float | None:
        return self.correct / self.responses if self.responses else None

    @property
    def discrimination(self) -> float | None:
        xs, ys = self.xs, self.ys
        return pearson(
            len(xs),
            sum(xs),
            sum(ys),
            sum(x * y for x, y in zip(xs, ys, strict=True)),
            sum(xs),
            sum(y * y for y in ys),
        )


def bank_figures(session: Session, bank_id: int) -> BankFigures:
    attempts = session.exec(select(QuizAttempt).where(QuizAttempt.bank_id == bank_id)).all()
    figures = BankFigures()
    submitted = [a for a in attempts if a.submitted_at is not None]
    figures.learners = len({a.user_id for a in submitted})
    figures.submitted = len(submitted)
    figures.first_attempts = sum(a.number == 1 for a in submitted)
    figures.first_passed = sum(a.number == 1 and a.is_passed is True for a in submitted)
    figures.passed = len({a.user_id for a in submitted if a.is_passed is True})
    first_start: dict[int, object] = {}
    first_pass: dict[int, object] = {}
    for a in attempts:  # the first start counts attempts never submitted too
        start = as_utc(a.started_at)
        first_start[a.user_id] = min(first_start.get(a.user_id, start), start)
        if a.is_passed is True and a.submitted_at is not None:
            at = as_utc(a.submitted_at)
            first_pass[a.user_id] = min(first_pass.get(a.user_id, at), at)
    seconds = [(at - first_start[u]).total_seconds() for u, at in first_pass.items()]
    figures.median_seconds = statistics.median(seconds) if seconds else None
    return figures


def item_figures(session: Session, bank_ids: list[int]) -> dict[tuple[int, str], ItemFigures]:
    rows = session.exec(
        select(QuizItemResponse).where(col(QuizItemResponse.bank_id).in_(bank_ids))
    ).all()
    items: dict[tuple[int, str], ItemFigures] = defaultdict(ItemFigures)
    for r in rows:
        item = items[(r.quiz_version_id, r.question_id)]
        x = int(r.is_correct)
        item.responses += 1
        item.correct += x
        if r.item_count > 1:
            points = round(r.attempt_score * r.item_count)
            item.xs.append(x)
            item.ys.append((points - x) / (r.item_count - 1))
        for position in (r.chosen or "").split(","):
            if position.isdigit():
                item.chosen[int(position)] = item.chosen.get(int(position), 0) + 1
    return items


@dataclass
class LearnerFigures:
    modules_passed: int = 0
    final_passed: bool = False
    attempts: int = 0
    last_at: object = None


def learner_figures(
    session: Session, module_bank_ids: list[int], final_bank_id: int
) -> dict[int, LearnerFigures]:
    attempts = session.exec(
        select(QuizAttempt).where(
            col(QuizAttempt.bank_id).in_([*module_bank_ids, final_bank_id]),
            col(QuizAttempt.submitted_at).is_not(None),
        )
    ).all()
    learners: dict[int, LearnerFigures] = defaultdict(LearnerFigures)
    passed: dict[int, set[int]] = defaultdict(set)
    for a in attempts:
        figures = learners[a.user_id]
        figures.attempts += 1
        at = as_utc(a.submitted_at)
        figures.last_at = at if figures.last_at is None else max(figures.last_at, at)
        if a.is_passed:
            passed[a.user_id].add(a.bank_id)
    for user_id, banks in passed.items():
        learners[user_id].modules_passed = len(banks & set(module_bank_ids))
        learners[user_id].final_passed = final_bank_id in banks
    return learners


def evaluation_figures(session: Session, course) -> tuple[int, dict, dict, dict]:
    """(responses, likert counts, text totals, newest texts) by reading every response."""
    from app.analytics.service import TEXT_ANSWERS_SHOWN
    from app.quizzes.models import EvaluationResponse

    questions = list(course.evaluation)
    likert = {q["id"]: [0] * 5 for q in questions if q.get("type") == "likert"}
    totals = {q["id"]: 0 for q in questions if q.get("type") != "likert"}
    texts: dict[str, list[str]] = {q: [] for q in totals}
    rows = session.exec(
        select(EvaluationResponse)
        .where(EvaluationResponse.course_id == course.id)
        .order_by(col(EvaluationResponse.submitted_at).desc(), col(EvaluationResponse.id).desc())
    ).all()
    for row in rows:
        for qid, value in row.answers.items():
            if qid in likert:
                if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5:
                    likert[qid][value - 1] += 1
            elif qid in totals and isinstance(value, str) and value.strip():
                totals[qid] += 1
                if len(texts[qid]) < TEXT_ANSWERS_SHOWN:
                    texts[qid].append(value.strip())
    return len(rows), likert, totals, texts
