"""An instructor writes and publishes a course in /studio; a learner then takes its quiz."""

import re
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, delete, select

from app.accounts.models import Role
from app.courses.models import Course
from app.studio.models import StudioDraft, StudioPublish
from tests.e2e.conftest import Live
from tests.e2e.helpers import create_account, expect, expect_heading, sign_in

pytestmark = pytest.mark.e2e

BODY = """# Wound dressings

## Overview

Match the dressing to the wound.

## Choosing a dressing

::: pearl
Foam absorbs exudate; film keeps a dry wound moist.
:::

| Dressing | Use |
|----------|-----|
| Foam | Exuding wounds |
| Film | Dry wounds |
"""


def _notice(page, text: str) -> None:
    """The studio's confirmation after a save (the check's warnings are a second status)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


@pytest.fixture
def course_slug(live: Live) -> Iterator[str]:
    """A fresh slug; the course, its draft and publish records are deleted afterwards."""
    slug = f"e2e-studio-{uuid.uuid4().hex[:8]}"
    yield slug
    with Session(live.engine) as session:
        ids = select(Course.id).where(Course.slug == slug)
        session.exec(delete(StudioPublish).where(col(StudioPublish.course_id).in_(ids)))
        session.exec(delete(Course).where(Course.slug == slug))
        session.exec(delete(StudioDraft).where(StudioDraft.course_slug == slug))
        session.commit()


def test_instructor_publishes_a_module_with_a_quiz_and_a_learner_passes_it(
    new_context, live, course_slug
):
    slug = course_slug
    instructor = create_account(live.engine, "instructor", Role.instructor)
    studio = new_context().new_page()
    sign_in(studio, instructor.email)

    # A new course from the studio's skeleton, listed in the catalog once published.
    studio.goto("/studio")
    expect_heading(studio, "Studio")
    studio.get_by_label("Title").fill("Wound care basics")
    studio.get_by_label("Short name (slug)").fill(slug)
    studio.get_by_role("button", name="Create course").click()
    studio.wait_for_url(f"**/studio/courses/{slug}")
    expect_heading(studio, "Wound care basics")
    studio.get_by_label("Status").select_option("published")
    studio.get_by_role("button", name="Save course details").click()
    _notice(studio, "Course details saved.")

    # A new module, written in Markdown with the live preview beside the editor.
    studio.get_by_label("Module title").fill("Wound dressings")
    studio.get_by_label("Module slug").fill("dressings")
    studio.get_by_role("button", name="Add module").click()
    studio.wait_for_url(f"**/studio/courses/{slug}/modules/dressings")
    expect(studio.get_by_role("heading", name="Module: Wound dressings")).to_be_visible()
    editor = studio.get_by_label("Text (Markdown)")
    editor.fill(BODY)
    editor.press("End")  # the preview follows keystrokes (htmx keyup)
    preview = studio.locator("#preview")
    expect(preview.get_by_role("heading", name="Choosing a dressing")).to_be_visible()
    expect(preview.locator("table")).to_be_visible()
    expect(preview.locator(".callout-pearl")).to_contain_text("Foam absorbs exudate")
    studio.get_by_role("button", name="Save module").click()
    _notice(studio, "Module saved.")

    # Its quiz: the skeleton question becomes a single-choice question.
    studio.get_by_role("link", name="Edit this module's quiz").click()
    studio.get_by_role("link", name="Edit question dressings-1").click()
    studio.get_by_label("Type").select_option("single")
    studio.get_by_label("Prompt").fill("Which dressing suits an exuding wound?")
    studio.get_by_label("Option 1", exact=True).fill("Foam")
    studio.get_by_label("Option 1 is correct").check()
    studio.get_by_label("Option 2", exact=True).fill("Film")
    studio.get_by_label("Explanation").fill("Foam absorbs exudate.")
    studio.get_by_label("Reference").fill("#choosing-a-dressing")
    studio.get_by_role("button", name="Save question").click()
    _notice(studio, "Question saved.")

    # First in the course, so a new learner can take its quiz straight away; then publish.
    studio.goto(f"/studio/courses/{slug}")
    studio.get_by_role("button", name="Move Wound dressings up").click()
    _notice(studio, "Module order saved.")
    studio.get_by_role("button", name="Publish", exact=True).click()
    _notice(studio, "Published: learners now see")

    # The learner finds it in the catalog, enrols, reads the module and passes its quiz.
    learner = create_account(live.engine, "studio-learner")
    page = new_context().new_page()
    sign_in(page, learner.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Wound care basics").click()
    page.get_by_role("button", name="Enrol in this course").click()
    expect(page.get_by_text("0% complete")).to_be_visible()
    page.get_by_role("link", name="Wound dressings", exact=True).click()
    page.wait_for_url(f"**/courses/{slug}/modules/dressings")
    expect(page.get_by_role("heading", name="Choosing a dressing")).to_be_visible()
    page.get_by_role("button", name="Take the quiz").click()
    page.wait_for_url(re.compile(r"/attempts/[0-9a-f-]+$"))
    question = page.locator("fieldset.question")
    expect(question).to_contain_text("Which dressing suits an exuding wound?")
    question.get_by_label("Foam", exact=True).check()
    page.get_by_role("button", name="Submit answers").click()
    expect_heading(page, "Module quiz: passed")
    expect(page.get_by_role("status")).to_contain_text("100%")
    expect(page.get_by_text("Foam absorbs exudate.")).to_be_visible()

    # The instructor's analytics count the attempt from the item rows written at grading.
    studio.goto(f"/studio/courses/{slug}/analytics")
    expect(studio.get_by_text("Which dressing suits an exuding wound?").first).to_be_visible()
