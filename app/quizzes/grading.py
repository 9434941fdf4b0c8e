"""Drawing and grading quizzes: pure functions over plain dicts, no database."""

import math
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import Invalid

_rng = random.SystemRandom()
Answer = list[str] | float | int | bool


@dataclass
class QuestionResult:
    question_id: str
    correct: bool
    explanation: str
    reference: str
    correct_options: list[str] | None = None  # option ids, only when reveal allows
    correct_answer: float | bool | None = None


@dataclass
class Grade:
    score: float
    passed: bool
    pass_mark: float
    results: list[QuestionResult] = field(default_factory=list)
    timed_out: bool = False


def draw_snapshot(questions: list[dict[str, Any]], draw: int | None) -> list[dict[str, Any]]:
    """Draws questions at random and shuffles options; option ids are opaque per attempt."""
    chosen = _rng.sample(questions, k=min(draw or len(questions), len(questions)))
    snapshot = []
    for q in chosen:
        options = [
            {"id": secrets.token_hex(4), "text": o["text"], "correct": bool(o.get("correct"))}
            for o in q.get("options", [])
        ]
        _rng.shuffle(options)
        snapshot.append({**q, "options": options})
    return snapshot


def public_questions(snapshot: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a learner may see before submitting: no correctness, explanation or reference."""
    return [
        {
            "id": q["id"],
            "type": q["type"],
            "prompt": q["prompt"],
            "options": [{"id": o["id"], "text": o["text"]} for o in q["options"]],
        }
        for q in snapshot
    ]


def _is_correct(question: dict[str, Any], answer: Answer | None) -> bool:
    kind = question["type"]
    if answer is None:
        return False
    if kind in ("single", "multiple"):
        chosen = {answer} if isinstance(answer, str) else set(answer)  # type: ignore[arg-type]
        correct = {o["id"] for o in question["options"] if o["correct"]}
        return chosen == correct if kind == "multiple" else len(chosen) == 1 and chosen <= correct
    if kind == "true_false":
        return answer is question["answer"]
    if kind == "numeric":
        value = float(answer)  # type: ignore[arg-type]
        return (
            math.isfinite(value)
            and abs(value - float(question["answer"]))
            <= float(question.get("tolerance") or 0) + 1e-9
        )
    return False


def validate_answers(snapshot: list[dict[str, Any]], answers: dict[str, Any]) -> None:
    """Raises Invalid naming the first answer whose shape does not fit its question."""
    by_id = {q["id"]: q for q in snapshot}
    for qid, answer in answers.items():
        question = by_id.get(qid)
        if question is None:
            raise Invalid(f"question {qid!r} is not part of this attempt")
        kind = question["type"]
        option_ids = {o["id"] for o in question["options"]}
        if kind in ("single", "multiple"):
            values = [answer] if isinstance(answer, str) else answer
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise Invalid(f"question {qid!r} takes a list of option ids")
            unknown = [v for v in values if v not in option_ids]
            if unknown:
                raise Invalid(f"question {qid!r} has no option {unknown[0]!r}")
            if kind == "single" and len(values) > 1:
                raise Invalid(f"question {qid!r} takes one option")
        elif kind == "true_false":
            if not isinstance(answer, bool):
                raise Invalid(f"question {qid!r} takes true or false")
        elif kind == "numeric" and (
            isinstance(answer, bool)
            or not isinstance(answer, int | float)
            or not math.isfinite(float(answer))
        ):
            raise Invalid(f"question {qid!r} takes a number")


def grade(
    snapshot: list[dict[str, Any]], answers: dict[str, Any], *, pass_mark: float, reveal: str
) -> Grade:
    """Scores an attempt (one point a question) and says what may be revealed."""
    results = [
        QuestionResult(
            question_id=q["id"],
            correct=_is_correct(q, answers.get(q["id"])),
            explanation=q.get("explanation", ""),
            reference=q.get("reference", ""),
        )
        for q in snapshot
    ]
    score = sum(r.correct for r in results) / len(results) if results else 0.0
    passed = score + 1e-9 >= pass_mark
    show = reveal == "after_each" or (reveal == "after_pass" and passed)
    if show:
        for q, r in zip(snapshot, results, strict=True):
            if q["type"] in ("single", "multiple"):
                r.correct_options = [o["id"] for o in q["options"] if o["correct"]]
            else:
                r.correct_answer = q.get("answer")
    return Grade(score=round(score, 4), passed=passed, pass_mark=pass_mark, results=results)


def timed_out_grade(snapshot: list[dict[str, Any]], *, pass_mark: float, reveal: str) -> Grade:
    """A submission after the time limit counts as unanswered."""
    graded = grade(snapshot, {}, pass_mark=pass_mark, reveal=reveal)
    graded.timed_out = True
    return graded


def answers_from_form(snapshot: list[dict[str, Any]], form: dict[str, list[str]]) -> dict[str, Any]:
    """Turns an HTML form (fields ``q-<question id>``) into the API's answer shape."""
    answers: dict[str, Any] = {}
    for q in snapshot:
        values = [v for v in form.get(f"q-{q['id']}", []) if v != ""]
        if not values:
            continue
        if q["type"] in ("single", "multiple"):
            answers[q["id"]] = values
        elif q["type"] == "true_false":
            if values[0] not in ("true", "false"):
                raise Invalid(f"question {q['id']!r} takes true or false")
            answers[q["id"]] = values[0] == "true"
        else:
            try:
                answers[q["id"]] = float(values[0].replace(",", "."))
            except ValueError as exc:
                raise Invalid(f"the answer to “{q['prompt']}” must be a number") from exc
    return answers
