"""Real concurrent HTTP requests against a live server and a real (committed) database."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, delete, select

from app.accounts.models import User
from app.core.settings import Settings
from app.courses.models import Course
from app.main import create_app
from app.quizzes.models import QuizAttempt
from tests.content_helpers import answer_key, correct_answers, import_tree, wrong_answers
from tests.factories import PASSWORD, make_user
from tests.live import serve

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
PARALLEL = 12


@pytest.fixture
def live(engine, database_url, tmp_path):
    with Session(engine, expire_on_commit=False) as session:
        import_tree(session, DEMO)
        user = make_user(session, email="racer@example.org")
        session.commit()
    app = create_app(Settings(data_dir=tmp_path, database_url=database_url, base_url="http://t"))
    try:
        with serve(app) as url:
            with httpx.Client(base_url=url, timeout=30) as client:
                token = client.post(
                    "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                assert (
                    client.post(
                        "/api/v1/courses/demo-course/enrollment", headers=headers
                    ).status_code
                    == 201
                )
            yield url, headers
    finally:
        app.state.engine.dispose()
        with Session(engine) as session:
            session.exec(delete(User).where(col(User.email) == "racer@example.org"))
            session.exec(delete(Course).where(col(Course.slug) == "demo-course"))
            session.commit()


def _parallel(fn, n=PARALLEL):
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def test_parallel_submissions_grade_exactly_once(live, engine):
    url, headers = live
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        attempt = client.post("/api/v1/courses/demo-course/modules/intro/attempts").json()
    answers = correct_answers(attempt["questions"], answer_key(DEMO, "demo-course", "intro"))

    def submit():
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            return c.post(
                f"/api/v1/attempts/{attempt['attempt_id']}/submission", json={"answers": answers}
            ).status_code

    codes = _parallel(submit)
    assert sorted(codes) == [200] + [409] * (PARALLEL - 1)
    with Session(engine) as session:
        row = session.exec(
            select(QuizAttempt).where(QuizAttempt.public_id == attempt["attempt_id"])
        ).one()
        assert row.is_passed is True and row.submitted_at is not None


def test_parallel_starts_never_exceed_the_attempt_limit(live, engine):
    url, headers = live
    key = answer_key(DEMO, "demo-course", "intro")

    def start():
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            r = c.post("/api/v1/courses/demo-course/modules/intro/attempts")
            return r.status_code, r.json()

    for round_ in range(3):  # three attempts allowed in the window
        results = _parallel(start)
        assert {code for code, _ in results} == {201}, results
        ids = {body["attempt_id"] for _, body in results}
        assert len(ids) == 1, f"round {round_}: parallel starts made {len(ids)} attempts"
        body = results[0][1]
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            c.post(
                f"/api/v1/attempts/{body['attempt_id']}/submission",
                json={"answers": wrong_answers(body["questions"], key)},
            )
    results = _parallel(start)
    assert {code for code, _ in results} == {429}
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == "racer@example.org")).one()
        count = len(session.exec(select(QuizAttempt).where(QuizAttempt.user_id == user.id)).all())
    assert count == 3


def test_parallel_submissions_of_different_learners_all_count_and_the_audit_chain_holds(
    live, engine
):
    """Many audited writes at once: appends to the hash chain queue, none fails or forks it."""
    from app.audit import service as audit

    url, _ = live
    key = answer_key(DEMO, "demo-course", "intro")
    emails = [f"racer{i}@example.org" for i in range(PARALLEL)]
    with Session(engine, expire_on_commit=False) as session:
        for email in emails:
            make_user(session, email=email)
        session.commit()
    try:
        prepared = []
        for email in emails:
            with httpx.Client(base_url=url, timeout=30) as c:
                token = c.post(
                    "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                c.post("/api/v1/courses/demo-course/enrollment", headers=headers)
                attempt = c.post(
                    "/api/v1/courses/demo-course/modules/intro/attempts", headers=headers
                ).json()
            prepared.append((headers, attempt))

        def submit(item):
            headers, attempt = item
            with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
                return c.post(
                    f"/api/v1/attempts/{attempt['attempt_id']}/submission",
                    json={"answers": correct_answers(attempt["questions"], key)},
                ).status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            codes = list(pool.map(submit, prepared))
        assert codes == [200] * PARALLEL
        with Session(engine) as session:
            assert audit.verify_chain(session).ok
    finally:
        with Session(engine) as session:
            session.exec(delete(User).where(col(User.email).in_(emails)))
            session.commit()
