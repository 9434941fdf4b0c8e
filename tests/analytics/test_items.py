"""Item statistics against hand-computed values on a small fixed set of attempts."""

import math
import statistics
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from app.analytics import service as analytics
from app.analytics import summaries
from app.analytics.items import ItemAccumulator, OptionCount, pearson
from app.core.clock import utcnow
from app.courses import service as courses
from app.quizzes import service as quizzes
from app.quizzes.models import QuizAttempt, QuizBank, QuizItemResponse, QuizVersion
from tests.content_helpers import answer_key, correct_answers, import_tree
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"

QUESTIONS = [
    {
        "id": "q1",
        "type": "single",
        "prompt": "Pick A",
        "options": [{"text": "A", "correct": True}, {"text": "B"}, {"text": "C"}],
    },
    {"id": "q2", "type": "true_false", "prompt": "True?", "answer": True},
    {
        "id": "q3",
        "type": "single",
        "prompt": "Pick X",
        "options": [{"text": "X", "correct": True}, {"text": "Y"}],
    },
]
# Item scores (1 correct, 0 wrong, None not drawn) of the six submitted attempts. Attempt 6
# drew only q1 and q2 (a random draw); in attempt 5, q3 was left unanswered.
SCORES = [
    {"q1": 1, "q2": 1, "q3": 1},
    {"q1": 1, "q2": 0, "q3": 1},
    {"q1": 0, "q2": 1, "q3": 0},
    {"q1": 1, "q2": 1, "q3": 0},
    {"q1": 0, "q2": 0, "q3": None},
    {"q1": 1, "q2": 0},
]


def _snapshot(question_ids):
    snap = []
    for q in QUESTIONS:
        if q["id"] not in question_ids:
            continue
        options = [
            {"id": uuid.uuid4().hex[:8], "text": o["text"], "correct": bool(o.get("correct"))}
            for o in q.get("options", [])
        ]
        snap.append({**q, "options": options})
    return snap


def _answer(question, score):
    if score is None:
        return None
    if question["type"] == "true_false":
        return bool(score)  # the key is True
    right = next(o["id"] for o in question["options"] if o["correct"])
    wrong = next(o["id"] for o in question["options"] if o["text"] in ("B", "Y"))
    return [right if score else wrong]


@pytest.fixture
def course_with_attempts(session):
    course = import_tree(session, DEMO)[0]
    bank = session.exec(
        select(QuizBank).where(QuizBank.course_id == course.id, QuizBank.key == "final")
    ).one()
    now = utcnow()
    version = QuizVersion(
        bank_id=bank.id,
        version=99,
        content_hash="analytics-test",
        title="Fixed",
        pass_mark=0.5,
        max_attempts=9,
        cooldown_hours=0,
        reveal="never",
        questions=QUESTIONS,
        source="",
        created_at=now,
    )
    session.add(version)
    session.flush()
    for scores in SCORES:
        user = make_user(session)
        snapshot = _snapshot(list(scores))
        answers = {}
        for q in snapshot:
            answer = _answer(q, scores[q["id"]])
            if answer is not None:
                answers[q["id"]] = answer
        results = [{"question_id": q, "correct": bool(s)} for q, s in scores.items()]
        attempt = QuizAttempt(
            public_id=str(uuid.uuid4()),
            user_id=user.id,
            bank_id=bank.id,
            quiz_version_id=version.id,
            number=1,
            snapshot=snapshot,
            pass_mark=0.5,
            reveal="never",
            started_at=now,
            submitted_at=now + timedelta(minutes=1),
            score=sum(bool(s) for s in scores.values()) / len(scores),
            is_passed=True,
            answers=answers,
            results=results,
        )
        session.add(attempt)
        session.flush()
        _add_item_rows(session, attempt, scores)
    # An attempt still open: it must not count.
    session.add(
        QuizAttempt(
            public_id=str(uuid.uuid4()),
            user_id=make_user(session).id,
            bank_id=bank.id,
            quiz_version_id=version.id,
            number=1,
            snapshot=_snapshot(["q1", "q2", "q3"]),
            pass_mark=0.5,
            reveal="never",
            started_at=now,
        )
    )
    session.commit()
    return course, version


def _chosen(question, answer):
    """The stored encoding: positions in the authored question, true/false as "0"/"1"."""
    if answer is None:
        return None
    if question["type"] == "true_false":
        return "0" if answer else "1"
    texts = {o["id"]: o["text"] for o in question["options"]}
    authored = next(q for q in QUESTIONS if q["id"] == question["id"])["options"]
    positions = [i for i, o in enumerate(authored) if o["text"] in {texts[a] for a in answer}]
    return ",".join(map(str, positions))


def _add_item_rows(session, attempt, scores):
    """What quizzes.submit_attempt writes at grading, for an attempt made by hand: the item
    rows and their place in the analytics summaries."""
    items = [
        {
            "attempt_id": attempt.id,
            "bank_id": attempt.bank_id,
            "quiz_version_id": attempt.quiz_version_id,
            "question_id": q["id"],
            "chosen": _chosen(q, attempt.answers.get(q["id"])),
            "is_correct": bool(scores[q["id"]]),
            "attempt_score": round(attempt.score, 4),
            "item_count": len(attempt.snapshot),
            "submitted_at": attempt.submitted_at,
        }
        for q in attempt.snapshot
    ]
    session.add_all(QuizItemResponse(**item) for item in items)
    summaries.record_submission(
        session, attempt, items, passed=attempt.is_passed, now=attempt.submitted_at
    )


def _by_hand(question_id):
    """Difficulty p = share correct; point-biserial r = (M1 - M0) / s * sqrt(p * q), where
    M1 and M0 are the mean rest scores of those who got the item right and wrong, s the
    population standard deviation of the rest score, and the rest score is the proportion of
    the attempt's *other* questions answered correctly."""
    xs, rests = [], []
    for scores in SCORES:
        if question_id not in scores:
            continue
        x = scores[question_id] or 0
        others = [s or 0 for q, s in scores.items() if q != question_id]
        xs.append(x)
        rests.append(sum(others) / len(others))
    p = sum(xs) / len(xs)
    m1 = statistics.mean(r for x, r in zip(xs, rests, strict=True) if x == 1)
    m0 = statistics.mean(r for x, r in zip(xs, rests, strict=True) if x == 0)
    s = statistics.pstdev(rests)
    return p, (m1 - m0) / s * math.sqrt(p * (1 - p)), len(xs)


def _items(session, course, version):
    report = analytics.course_report(session, course)
    return {i.question_id: i for i in report.items if i.quiz_version_id == version.id}


def test_difficulty_and_point_biserial_match_hand_computation(session, course_with_attempts):
    course, version = course_with_attempts
    items = _items(session, course, version)
    for qid in ("q1", "q2", "q3"):
        p, r, n = _by_hand(qid)
        assert items[qid].responses == n
        assert items[qid].difficulty == pytest.approx(p)
        assert items[qid].discrimination == pytest.approx(r)
    # Spelled out for q1: rest scores 1, .5, .5, .5, 0, 0; M1 = 2/4, M0 = .5/2 ...
    assert items["q1"].difficulty == pytest.approx(4 / 6)
    rests = [1, 0.5, 0.5, 0.5, 0, 0]
    expected = (2 / 4 - 0.25) / statistics.pstdev(rests) * math.sqrt(4 / 6 * 2 / 6)
    assert items["q1"].discrimination == pytest.approx(expected)


def test_option_counts_flag_options_nobody_picks(session, course_with_attempts):
    course, version = course_with_attempts
    items = _items(session, course, version)
    q1 = {o.text: (o.chosen, o.is_never_chosen) for o in items["q1"].options}
    assert q1 == {"A": (4, False), "B": (2, False), "C": (0, True)}
    assert "unused option" in items["q1"].flags
    q2 = {o.text: o.chosen for o in items["q2"].options}
    assert q2 == {"True": 3, "False": 3}
    q3 = {o.text: o.chosen for o in items["q3"].options}
    assert q3 == {"X": 2, "Y": 2}  # attempt 5 left it unanswered
    assert items["q1"].edit_url == "/studio/courses/demo-course/quizzes/final#q-q1"


def test_flags_for_too_easy_too_hard_and_low_discrimination():
    easy = ItemAccumulator("e", "", "single", responses=100, correct=96)
    hard = ItemAccumulator("h", "", "single", responses=100, correct=29)
    assert easy.flags() == ["too easy"]
    assert hard.flags() == ["too hard"]
    # Right answers come with *lower* rest scores: negative discrimination.
    low = ItemAccumulator("l", "", "single", responses=4, correct=2, options={})
    for x, y in [(1, 0.0), (1, 0.5), (0, 0.5), (0, 1.0)]:
        low.n += 1
        low.sum_x += x
        low.sum_y += y
        low.sum_xy += x * y
        low.sum_xx += x * x
        low.sum_yy += y * y
    assert low.discrimination is not None and low.discrimination < 0
    assert low.flags() == ["low discrimination"]
    low.options["Z"] = OptionCount("Z", False, 0)
    assert low.flags() == ["low discrimination", "unused option"]


def test_correlation_is_undefined_when_everyone_scores_alike():
    assert pearson(3, 3, 1.5, 1.5, 3, 0.75) is None  # every item right: no variance


def test_submission_writes_one_item_row_per_question_in_the_same_transaction(session):
    course = import_tree(session, DEMO)[0]
    learner = make_user(session)
    courses.enroll(session, learner, course, now=utcnow())
    started = quizzes.start_attempt(session, learner, course, "intro", now=utcnow())
    attempt = started.attempt
    key = answer_key(DEMO, course.slug, "intro")
    answers = correct_answers(attempt.snapshot, key)
    answers["intro-terms"] = False  # one wrong, so the rows carry a partial score
    graded = quizzes.submit_attempt(session, learner, attempt.public_id, answers, now=utcnow())

    rows = {
        r.question_id: r
        for r in session.exec(
            select(QuizItemResponse).where(QuizItemResponse.attempt_id == attempt.id)
        )
    }
    assert set(rows) == {q["id"] for q in attempt.snapshot}
    assert {r.attempt_score for r in rows.values()} == {graded.score}
    assert {r.item_count for r in rows.values()} == {len(attempt.snapshot)}
    assert {r.quiz_version_id for r in rows.values()} == {attempt.quiz_version_id}
    mechanism, terms = rows["intro-mechanism"], rows["intro-terms"]
    # Authored order, not the attempt's shuffled order: NMDA is the first authored option.
    assert (mechanism.chosen, mechanism.is_correct) == ("0", True)
    assert (terms.chosen, terms.is_correct) == ("1", False)  # "1" is False

    items = {i.question_id: i for i in analytics.course_report(session, course).items}
    options = {o.text: o.chosen for o in items["intro-mechanism"].options}
    assert options == {"NMDA glutamate receptor": 1, "mu-opioid receptor": 0}
    assert {o.text: o.chosen for o in items["intro-terms"].options} == {"True": 0, "False": 1}


def test_a_timed_out_submission_records_no_chosen_options(session):
    course = import_tree(session, DEMO)[0]
    learner = make_user(session)
    courses.enroll(session, learner, course, now=utcnow())
    attempt = quizzes.start_attempt(session, learner, course, "intro", now=utcnow()).attempt
    attempt.deadline_at = utcnow() - timedelta(hours=1)
    session.flush()
    answers = correct_answers(attempt.snapshot, answer_key(DEMO, course.slug, "intro"))
    assert quizzes.submit_attempt(session, learner, attempt.public_id, answers, now=utcnow())
    rows = session.exec(
        select(QuizItemResponse).where(QuizItemResponse.attempt_id == attempt.id)
    ).all()
    assert rows and all(r.chosen is None and not r.is_correct for r in rows)
