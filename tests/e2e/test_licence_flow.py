"""A learner with two licences claims credit for the one they choose, in a real browser, and
the course page then offers renewal."""

from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import User
from app.core.clock import utcnow
from app.quizzes import service as quizzes
from tests.e2e.helpers import (
    DEMO,
    DEMO_ROOT,
    _load,
    create_account,
    enrol,
    expect,
    expect_heading,
    sign_in,
    take_quiz,
)

pytestmark = pytest.mark.e2e


def _complete_without_claiming(live: Any, user: User) -> None:
    enrol(live.engine, user, DEMO)
    for bank in ("intro", "next", quizzes.FINAL):
        take_quiz(live.engine, user, DEMO, bank, DEMO_ROOT)
    with Session(live.engine, expire_on_commit=False) as session:
        fresh, course = _load(session, user, DEMO)
        answers = {q["id"]: "5" if q["type"] == "likert" else "" for q in course.evaluation}
        quizzes.submit_evaluation(session, fresh, course, answers, now=utcnow())
        session.commit()


def test_learner_adds_a_licence_and_claims_credit_for_it(page, live):
    user = create_account(live.engine, "licences")  # signs up with an LCSW licence in CA
    _complete_without_claiming(live, user)
    sign_in(page, user.email)

    page.goto("/account/licences")
    expect_heading(page, "Your licences")
    page.get_by_label("Profession").select_option(label="Psychologist")
    page.get_by_label("State or territory").select_option("FL")
    page.get_by_label("Licence number").fill("PSY-777")
    page.get_by_role("button", name="Add licence").click()
    expect(page.get_by_role("table")).to_contain_text("PSY-777")
    expect(page.get_by_role("table")).to_contain_text("LCSW-12345")

    page.goto(f"/courses/{DEMO}")
    group = page.get_by_role("group", name="Which licence is this certificate for?")
    group.get_by_label("Psychologist, FL, licence PSY-777").check()
    page.get_by_role("button", name="Claim your certificate").click()
    expect_heading(page, "Certificate of completion")
    expect(page.locator("article")).to_contain_text("Psychologist, FL · Licence PSY-777")

    page.goto(f"/courses/{DEMO}")
    renewal = page.get_by_role("region", name="Renewal")
    expect(renewal).to_contain_text("Your certificate expires on")
    expect(renewal).to_contain_text("Renewal opens on")
