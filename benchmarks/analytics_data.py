"""Fills a PostgreSQL database with the shipped course, 100,000 learners and 1,000,000
submitted attempts (with their quiz_item_response rows, plus evaluations and certificates),
for benchmarks/analytics_bench.py.

    bash scripts/pg-test-db.sh lms_test lms_bench
    .venv/bin/python benchmarks/analytics_data.py \
        --url postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/lms_bench

Rows go in with COPY. Snapshots, answers and results are real (drawn and graded by
app.quizzes.grading) but come from a pool per quiz, so generation is bounded by COPY speed.
COPY bypasses submit_attempt, so the analytics summaries are then computed in one pass by
app.analytics.summaries.rebuild and rebuild_evaluation_counts (the evaluation-counting trigger
is off during the COPY).
"""

import argparse
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app.analytics import summaries
from app.core.db import make_engine, upgrade_to_head
from app.courses import service as courses
from app.courses.models import Course
from app.quizzes import grading
from app.quizzes.models import QuizBank, QuizVersion
from app.quizzes.service import _item_responses  # the rows submit_attempt writes
from app.studio import importer
from app.studio.parsing import load_content

ROOT = Path(__file__).resolve().parents[1]
SLUG = "ketamine-assisted-therapy"
POOL_SNAPSHOTS = 40
POOL_ANSWERS = 25
PASS_CHANCE = 0.72  # chance an attempt passes
DROP_AFTER_BANK = 0.06  # chance a learner stops after each quiz
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$YmVuY2htYXJr$YmVuY2htYXJrYmVuY2htYXJr"  # noqa: S105 (not a usable hash: nobody signs in)


def _pool(version: QuizVersion, rng: random.Random) -> tuple[list[Any], list[Any]]:
    """(passing, failing) lists of (snapshot json, answers json, results json, score, item rows)."""
    passing: list[Any] = []
    failing: list[Any] = []
    for _ in range(POOL_SNAPSHOTS):
        snapshot = grading.draw_snapshot(version.questions, version.draw)
        snap_json = json.dumps(snapshot)
        for _ in range(POOL_ANSWERS):
            skill = rng.uniform(0.4, 1.0)
            answers: dict[str, Any] = {}
            for q in snapshot:
                right = rng.random() < skill
                if q["type"] in ("single", "multiple"):
                    pick = [o["id"] for o in q["options"] if o["correct"] == right]
                    wrong = [o["id"] for o in q["options"] if not o["correct"]]
                    answers[q["id"]] = pick if right else [rng.choice(wrong or pick)]
                elif q["type"] == "true_false":
                    answers[q["id"]] = q["answer"] if right else not q["answer"]
                else:
                    answers[q["id"]] = float(q["answer"]) + (0 if right else 1)
            graded = grading.grade(
                snapshot, answers, pass_mark=version.pass_mark, reveal=version.reveal
            )
            items = [
                (
                    i["question_id"],
                    i["chosen"],
                    i["is_correct"],
                    i["attempt_score"],
                    i["item_count"],
                )
                for i in _item_responses(version.questions, snapshot, answers, graded)
            ]
            row = (
                snap_json,
                json.dumps(answers),
                json.dumps([r.__dict__ for r in graded.results]),
                graded.score,
                items,
            )
            (passing if graded.passed else failing).append(row)
    return passing, failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="PostgreSQL SQLAlchemy URL (emptied first)")
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    engine = make_engine(args.url)
    upgrade_to_head(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        report = load_content(ROOT, today=date.today())  # noqa: DTZ011
        if session.exec(select(Course).where(Course.slug == SLUG)).first() is None:
            importer.import_specs(session, [c for c in report.courses if c.slug == SLUG], now=now)
            session.commit()
        course = session.exec(select(Course).where(Course.slug == SLUG)).one()
        keys = [m.slug for m, _ in courses.active_modules(session, course)] + ["final"]
        banks = []
        for key in keys:
            bank, version = session.exec(
                select(QuizBank, QuizVersion)
                .join(QuizVersion, QuizVersion.id == QuizBank.current_version_id)  # type: ignore[arg-type]
                .where(QuizBank.course_id == course.id, QuizBank.key == key)
            ).one()
            banks.append((bank, version, *_pool(version, rng)))
        course_id = course.id
        evaluation = list(course.evaluation)
    print(f"course and answer pools ready in {time.perf_counter() - started:.1f}s", flush=True)

    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute('SELECT coalesce(max(id), 0) FROM "user"')
    first_id = cur.fetchone()[0] + 1
    tag = uuid.uuid4().hex[:6]
    t = time.perf_counter()
    with cur.copy(
        'COPY "user" (id, uuid, email, full_name, profession, license_number, license_state,'
        " role, password_hash, is_totp_enabled, is_active, created_at) FROM STDIN"
    ) as copy:
        for i in range(args.learners):
            copy.write_row(
                (
                    first_id + i,
                    str(uuid.uuid4()),
                    f"bench-{tag}-{i}@example.org",
                    f"Bench Learner {i}",
                    "LCSW",
                    f"L{i}",
                    "CA",
                    "learner",
                    PASSWORD_HASH,
                    False,
                    True,
                    now,
                )
            )
    cur.execute("SELECT setval(pg_get_serial_sequence('\"user\"', 'id'), max(id)) FROM \"user\"")
    print(f"{args.learners:,} learners in {time.perf_counter() - t:.1f}s", flush=True)

    t = time.perf_counter()
    enrolled_at = now - timedelta(days=90)
    with cur.copy(
        "COPY enrollment (user_id, course_id, enrolled_at, last_anchor) FROM STDIN"
    ) as copy:
        for i in range(args.learners):
            copy.write_row((first_id + i, course_id, enrolled_at + timedelta(seconds=i), ""))

    t = time.perf_counter()
    made = 0
    final_passers: list[tuple[int, datetime]] = []
    cur.execute("SELECT coalesce(max(id), 0) FROM quiz_attempt")
    first_attempt = cur.fetchone()[0] + 1
    # (bank, version, item rows, submitted at) per attempt, for the quiz_item_response COPY.
    graded: list[tuple[int, int, Any, datetime]] = []
    with cur.copy(
        "COPY quiz_attempt (id, public_id, user_id, bank_id, quiz_version_id, number, snapshot,"
        " pass_mark, reveal, started_at, submitted_at, score, is_passed, answers, results)"
        " FROM STDIN"
    ) as copy:
        learner = 0
        while made < args.attempts:
            user_id = first_id + (learner % args.learners)
            round_ = learner // args.learners  # more attempts than learners x quizzes: go again
            learner += 1
            clock = enrolled_at + timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            for bank, version, passing, failing in banks:
                passed = False
                number = 0
                while not passed and number < version.max_attempts and made < args.attempts:
                    number += 1
                    passed = rng.random() < PASS_CHANCE
                    pick = rng.choice(passing if passed else failing)
                    snap, answers, results, score, items = pick
                    start = clock + timedelta(minutes=rng.randint(5, 600))
                    clock = start + timedelta(seconds=rng.randint(60, 1800))
                    graded.append((bank.id, version.id, items, clock))
                    copy.write_row(
                        (
                            first_attempt + made,
                            str(uuid.uuid4()),
                            user_id,
                            bank.id,
                            version.id,
                            number + 10 * round_,
                            snap,
                            version.pass_mark,
                            version.reveal,
                            start,
                            clock,
                            score,
                            passed,
                            answers,
                            results,
                        )
                    )
                    made += 1
                if not passed or rng.random() < DROP_AFTER_BANK:
                    break
                if bank.key == "final":
                    final_passers.append((user_id, clock))
            if made and made % 200_000 < 12:
                print(f"  {made:,} attempts, {time.perf_counter() - t:.0f}s", flush=True)
    cur.execute(
        "SELECT setval(pg_get_serial_sequence('quiz_attempt', 'id'), max(id)) FROM quiz_attempt"
    )
    print(f"{made:,} attempts in {time.perf_counter() - t:.1f}s", flush=True)

    t = time.perf_counter()
    n_items = 0
    with cur.copy(
        "COPY quiz_item_response (attempt_id, bank_id, quiz_version_id, question_id, chosen,"
        " is_correct, attempt_score, item_count, submitted_at) FROM STDIN"
    ) as copy:
        for offset, (bank_id, version_id, items, at) in enumerate(graded):
            for question_id, chosen, is_correct, score, count in items:
                copy.write_row(
                    (
                        first_attempt + offset,
                        bank_id,
                        version_id,
                        question_id,
                        chosen,
                        is_correct,
                        score,
                        count,
                        at,
                    )
                )
            n_items += len(items)
    graded.clear()
    print(f"{n_items:,} item responses in {time.perf_counter() - t:.1f}s", flush=True)

    t = time.perf_counter()
    seen: set[int] = set()
    # The counting trigger would update the same few rows once per response in one
    # transaction; the counts are taken in one pass below instead.
    cur.execute("ALTER TABLE evaluation_response DISABLE TRIGGER analytics_evaluation_count")
    with cur.copy(
        "COPY evaluation_response (user_id, course_id, answers, submitted_at) FROM STDIN"
    ) as copy:
        for user_id, at in final_passers:
            if user_id in seen:
                continue
            seen.add(user_id)
            answers = {
                q["id"]: (
                    rng.randint(2, 5)
                    if q["type"] == "likert"
                    else rng.choice(["", "", "", "Helpful", "More case examples"])
                )
                for q in evaluation
            }
            copy.write_row((user_id, course_id, json.dumps(answers), at + timedelta(minutes=5)))
    with cur.copy(
        "COPY certificate (code, user_id, course_id, generation, learner_name, profession,"
        " license_state, license_number, course_title, content_version, ce_hours,"
        " completion_date, issued_at, kid, token, credential, credit_basis, revocation_reason)"
        " FROM STDIN"
    ) as copy:
        for n, user_id in enumerate(sorted(seen)):
            if n % 5 == 4:
                continue  # not everyone claims
            copy.write_row(
                (
                    f"BEN-{tag}-{n}",
                    user_id,
                    course_id,
                    1,
                    f"Bench Learner {user_id}",
                    "LCSW",
                    "CA",
                    "L",
                    SLUG,
                    "1",
                    6.0,
                    now.date(),
                    now,
                    "",
                    "",
                    "{}",
                    "{}",
                    "",
                )
            )
    cur.execute("ALTER TABLE evaluation_response ENABLE TRIGGER analytics_evaluation_count")
    raw.commit()
    print(f"{len(seen):,} evaluations and certificates in {time.perf_counter() - t:.1f}s")

    t = time.perf_counter()
    with engine.begin() as conn:
        summaries.rebuild(conn)
        summaries.rebuild_evaluation_counts(conn, [course_id])
    print(f"analytics summaries rebuilt in {time.perf_counter() - t:.1f}s", flush=True)
    raw.driver_connection.autocommit = True  # type: ignore[union-attr]
    cur.execute("VACUUM ANALYZE")  # also sets the visibility map, as autovacuum would by now
    raw.close()
    print(f"total {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
