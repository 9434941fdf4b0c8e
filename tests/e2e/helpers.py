"""Browser and database helpers shared by the end-to-end tests."""

import itertools
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.accounts.models import Role, User
from app.certificates import service as certificates
from app.core.clock import utcnow
from app.core.settings import Settings
from app.courses import service as courses
from app.courses.models import Course
from app.quizzes import service as quizzes
from tests.content_helpers import answer_key, correct_answers, wrong_answers
from tests.factories import PASSWORD, make_user

try:
    from playwright.sync_api import Locator, Page, expect
except ImportError:  # the `browser` fixture then skips (or fails under CI=true) and says why
    Locator = Page = Any  # type: ignore[assignment,misc]
    expect = None  # type: ignore[assignment]

DEMO_ROOT = Path(__file__).resolve().parents[1] / "data" / "content"
DEMO = "demo-course"
# Every account these tests make matches this pattern, so teardown can delete them all.
EMAIL_PREFIX = "e2e-"
EMAIL_DOMAIN = "@example.org"
_counter = itertools.count(1)
# axe findings that do not fail a test (best-practice, minor, moderate): printed after the run.
ADVISORIES: list[str] = []


def new_email(label: str) -> str:
    return f"{EMAIL_PREFIX}{label}-{next(_counter)}-{uuid.uuid4().hex[:8]}{EMAIL_DOMAIN}"


# --- committed set-up data (the live server runs in its own transactions) ------------------


def create_account(engine: Engine, label: str, role: Role = Role.learner) -> User:
    with Session(engine, expire_on_commit=False) as session:
        user = make_user(session, role=role, email=new_email(label))
        session.commit()
        return user


def _load(session: Session, user: User, slug: str) -> tuple[User, Course]:
    fresh = session.get(User, user.id)
    course = session.exec(select(Course).where(Course.slug == slug)).one()
    assert fresh is not None
    return fresh, course


def enrol(engine: Engine, user: User, slug: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        fresh, course = _load(session, user, slug)
        courses.enroll(session, fresh, course, now=utcnow())
        session.commit()


def take_quiz(
    engine: Engine, user: User, slug: str, key: str, root: Path, *, right: bool = True
) -> str:
    """Starts and submits one attempt through the service; returns its public id."""
    with Session(engine, expire_on_commit=False) as session:
        fresh, course = _load(session, user, slug)
        started = quizzes.start_attempt(session, fresh, course, key, now=utcnow())
        authored = answer_key(root, slug, key)
        pick = correct_answers if right else wrong_answers
        public_id = started.attempt.public_id
        quizzes.submit_attempt(
            session, fresh, public_id, pick(started.attempt.snapshot, authored), now=utcnow()
        )
        session.commit()
        return public_id


def open_attempt(engine: Engine, user: User, slug: str, key: str) -> str:
    """Starts (or resumes) an attempt without submitting it; returns its public id."""
    with Session(engine, expire_on_commit=False) as session:
        fresh, course = _load(session, user, slug)
        started = quizzes.start_attempt(session, fresh, course, key, now=utcnow())
        session.commit()
        return started.attempt.public_id


def complete_with_certificate(
    engine: Engine, settings: Settings, user: User, slug: str, root: Path
) -> str:
    """Passes every quiz, submits the evaluation and claims the certificate; returns its code."""
    with Session(engine, expire_on_commit=False) as session:
        _, course = _load(session, user, slug)
        banks = [m.slug for m, _ in courses.active_modules(session, course)]
    for bank in [*banks, quizzes.FINAL]:
        take_quiz(engine, user, slug, bank, root)
    with Session(engine, expire_on_commit=False) as session:
        fresh, course = _load(session, user, slug)
        answers = {q["id"]: "5" if q["type"] == "likert" else "Useful." for q in course.evaluation}
        quizzes.submit_evaluation(session, fresh, course, answers, now=utcnow())
        cert, _ = certificates.issue_certificate(
            session, fresh, course, now=utcnow(), settings=settings
        )
        session.commit()
        return cert.code


# --- the browser -------------------------------------------------------------------------


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def quiz_question_id(fieldset: Locator) -> str:
    name = fieldset.locator("input").first.get_attribute("name") or ""
    assert name.startswith("q-"), name
    return name.removeprefix("q-")


def choice(question: dict[str, Any], right: bool) -> list[str] | str:
    """What to pick for an authored question: option texts, "True"/"False", or a number."""
    if question["type"] in ("single", "multiple"):
        correct = [o["text"].strip() for o in question["options"] if o.get("correct")]
        if right:
            return correct
        return [next(o["text"].strip() for o in question["options"] if not o.get("correct"))]
    if question["type"] == "true_false":
        value = bool(question["answer"]) if right else not question["answer"]
        return "True" if value else "False"
    value = float(question["answer"]) if right else float(question["answer"]) + 1000
    return f"{value:g}"


def answer_quiz(page: Page, key: dict[str, dict[str, Any]], *, right: bool) -> int:
    """Fills the attempt form on the page with the mouse; returns the number of questions."""
    fieldsets = page.locator("fieldset.question").all()
    assert fieldsets, "no questions on the page"
    for fieldset in fieldsets:
        question = key[quiz_question_id(fieldset)]
        picked = choice(question, right)
        if question["type"] == "numeric":
            fieldset.get_by_role("textbox").fill(str(picked))
            continue
        for text in [picked] if isinstance(picked, str) else picked:
            fieldset.get_by_label(text, exact=True).check()
    return len(fieldsets)


def expect_heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)
