"""Times the course analytics report and a learner's dashboard on the database that
benchmarks/analytics_data.py filled, and prints the figures.

    .venv/bin/python benchmarks/analytics_bench.py \
        --url postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/lms_bench
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.analytics import service as analytics
from app.core.db import make_engine
from app.courses import service as courses
from app.courses.models import Course, Enrollment
from app.quizzes.models import QuizAttempt, QuizItemResponse

SLUG = "ketamine-assisted-therapy"


def _time(label: str, fn: Callable[[], Any], runs: int = 1) -> Any:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    best, median = min(times), statistics.median(times)
    print(f"{label:<42} best {best * 1000:9.1f} ms   median {median * 1000:9.1f} ms  ({runs} runs)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dashboards", type=int, default=200)
    args = parser.parse_args()
    engine = make_engine(args.url)
    with Session(engine, expire_on_commit=False) as session:
        course = session.exec(select(Course).where(Course.slug == SLUG)).one()
        n_attempts = session.execute(select(func.count()).select_from(QuizAttempt)).one()
        n_items = session.execute(select(func.count()).select_from(QuizItemResponse)).one()
        n_learners = session.exec(
            select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course.id)
        ).one()
        print(
            f"database: {n_learners:,} enrolled learners, {n_attempts[0]:,} attempts,"
            f" {n_items[0]:,} item responses\n"
        )
        modules, final = analytics._banks(session, course)
        banks = [*modules, *([final] if final else [])]
        runs = args.runs
        _time(
            "bank statistics (funnel, per module)",
            lambda: analytics._bank_stats(session, [b.id for b in banks]),
            runs,
        )
        _time("learner status counts", lambda: analytics.status_counts(session, course), runs)
        _time("learner table, page 1 (50 rows)", lambda: analytics.learners(session, course), runs)
        _time(
            "learner table, search 'learner 4242'",
            lambda: analytics.learners(session, course, query="learner 4242"),
            runs,
        )
        _time("evaluation results", lambda: analytics.evaluation_results(session, course), runs)
        _time(
            "learner CSV rows (all)",
            lambda: sum(1 for _ in analytics.iter_learners(session, course)),
            1,
        )
        items = _time(
            "item analysis (item group summaries)",
            lambda: analytics.item_analysis(session, course, banks),
            runs,
        )
        print(f"  -> {len(items)} items, {sum(bool(i.flags) for i in items)} flagged")
        _time(
            "learner table, status 'in_progress', page 1",
            lambda: analytics.learners(session, course, status="in_progress"),
            runs,
        )
        _time(
            "analytics page (report + learners page 1)",
            lambda: (analytics.course_report(session, course), analytics.learners(session, course)),
            runs,
        )

        ids = list(
            session.exec(
                select(Enrollment.user_id)
                .where(Enrollment.course_id == course.id)
                .order_by(col(Enrollment.user_id))
            )
        )
        rng = random.Random(1)
        users = [session.get(User, uid) for uid in rng.sample(ids, min(args.dashboards, len(ids)))]
        times = []
        for user in users:
            if user is None:
                continue
            t = time.perf_counter()
            courses.enrolled_courses(session, user)
            times.append(time.perf_counter() - t)
        times.sort()
        print(
            f"\nlearner dashboard (enrolled_courses), {len(times)} learners: "
            f"median {statistics.median(times) * 1000:.1f} ms, "
            f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
