"""A learner's whole journey in a real browser, with and without JavaScript, and by keyboard."""

import re
from typing import Any

import pytest

from app.accounts.models import Role
from tests.content_helpers import ROOT, answer_key
from tests.e2e.helpers import (
    DEMO,
    DEMO_ROOT,
    answer_quiz,
    choice,
    create_account,
    enrol,
    expect,
    expect_heading,
    new_email,
    quiz_question_id,
    sign_in,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def _key(bank: str) -> dict[str, dict[str, Any]]:
    return answer_key(DEMO_ROOT, DEMO, bank)


def _take_quiz(page: Any, bank: str, *, right: bool, title: str = "Module quiz") -> None:
    """On the attempt page: answer, submit (htmx swaps the result in) and check the outcome."""
    expect_heading(page, title)
    answer_quiz(page, _key(bank), right=right)
    page.get_by_role("button", name="Submit answers").click()
    outcome = "passed" if right else "not passed"
    expect_heading(page, f"{title}: {outcome}")
    expect(page.get_by_role("status")).to_contain_text("100%" if right else "Your score: 0%")


def test_learner_signs_up_completes_the_course_and_submits_the_evaluation(page, live, new_context):
    email = new_email("signup")

    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name (as on your licence)").fill("Robin Learner")
    page.get_by_label("Profession or licence type").select_option(index=1)
    page.get_by_label("Licence number").fill("LMFT-4242")
    page.get_by_label("Licence state").select_option("CA")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/dashboard")
    expect_heading(page, "My learning")
    expect(page.get_by_text("You are not enrolled in a course yet")).to_be_visible()

    # Catalog -> course -> enrol.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Demo course for tests").click()
    page.get_by_role("button", name="Enrol in this course").click()
    expect(page.get_by_text("0% complete")).to_be_visible()

    # Module 1 opens; its image is served from the content folder; module 2 is announced as locked.
    page.get_by_role("link", name="Continue where you left off: Introduction").click()
    page.wait_for_url(f"**/courses/{DEMO}/modules/intro")
    expect(page.get_by_role("heading", name="What this course covers")).to_be_visible()
    image = page.get_by_role("img", name="A labelled diagram of a receptor")
    expect(image).to_be_visible()
    asset = page.request.get(image.evaluate("img => img.src"))  # the test PNG is a stub
    assert asset.status == 200, f"module image not served: {asset.status}"
    expect(page.get_by_text("unlocks when you pass this quiz")).to_be_visible()

    # The locked module is refused with a 403 page that says what to do next.
    response = page.goto(f"/courses/{DEMO}/modules/next")
    assert response is not None and response.status == 403
    expect_heading(page, "Not allowed")
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"first pass Introduction"))
    page.get_by_role("link", name="Back to the course").click()
    page.wait_for_url(f"**/courses/{DEMO}")

    # Module 1 quiz: a failing attempt, then a passing one.
    page.get_by_role("link", name="Introduction", exact=True).click()
    page.get_by_role("button", name="Take the quiz").click()
    _take_quiz(page, "intro", right=False)
    page.goto(f"/courses/{DEMO}/modules/intro")
    page.get_by_role("button", name="Take the quiz").click()
    _take_quiz(page, "intro", right=True)

    # Module 2 is open now; pass its quiz (multiple choice and a numeric answer).
    page.get_by_role("link", name="Back to the course").click()
    page.get_by_role("link", name="Next steps", exact=True).click()
    page.get_by_role("button", name="Take the quiz").click()
    _take_quiz(page, "next", right=True)

    # The final exam opens once every module is passed.
    page.get_by_role("link", name="Back to the course").click()
    expect(page.get_by_text("2 of 2 modules passed")).to_be_visible()
    page.get_by_role("button", name="Start the final exam").click()
    _take_quiz(page, "final", right=True, title="Final exam")

    # The evaluation, then the course shows every requirement met.
    page.get_by_role("link", name="Back to the course").click()
    page.get_by_role("link", name="open the evaluation").click()
    expect_heading(page, "Course evaluation")
    page.get_by_role("group", name="The course met its stated objectives.").get_by_label(
        "5: Strongly agree"
    ).check()
    page.get_by_label("Any other comments?").fill("Clear and practical.")
    page.get_by_role("button", name="Submit evaluation").click()
    page.wait_for_url(f"**/courses/{DEMO}")
    checklist = page.locator(".checklist")
    expect(checklist).to_contain_text("✓ Submit the course evaluation")
    expect(checklist).not_to_contain_text("○")

    # The certificate: claim it, download the PDF, verify the file and the public page.
    page.get_by_role("button", name="Claim your certificate").click()
    expect_heading(page, "Certificate of completion")
    code = page.url.rstrip("/").rsplit("/", 1)[-1]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    pdf_path = download.value.path()
    with open(pdf_path, "rb") as handle:
        assert handle.read(4) == b"%PDF"
    page.goto("/verify")
    page.get_by_label("Or the certificate PDF").set_input_files(pdf_path)
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".status")).to_contain_text("Valid")
    page.goto(f"/verify/{code}")
    expect(page.locator(".status")).to_contain_text("Valid")

    # An admin revokes it; the public verify page changes.
    admin = create_account(live.engine, "flow-admin", Role.admin)
    admin_page = new_context().new_page()
    sign_in(admin_page, admin.email)
    admin_page.goto("/admin/certificates")
    admin_page.get_by_label(f"Reason for revoking {code}").fill("Issued in error (test)")
    admin_page.get_by_role("row", name=code).get_by_role("button", name="Revoke").click()
    expect(admin_page.locator(".status")).to_contain_text("Revoked")
    page.goto(f"/verify/{code}")
    expect(page.locator(".status")).to_contain_text("Revoked")
    expect(page.locator(".status")).to_contain_text("Issued in error (test)")


def test_quiz_works_with_javascript_disabled(new_context, live):
    user = create_account(live.engine, "nojs")
    enrol(live.engine, user, DEMO)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, user.email)

    page.goto(f"/courses/{DEMO}/modules/intro")
    page.get_by_role("button", name="Take the quiz").click()
    page.wait_for_url(re.compile(r"/attempts/[0-9a-f-]+$"))
    attempt_url = page.url
    answer_quiz(page, _key("intro"), right=True)
    page.get_by_role("button", name="Submit answers").click()
    # Without htmx the form posts normally and the server answers with the full result page.
    expect_heading(page, "Module quiz: passed")
    assert page.url == attempt_url
    expect(page.get_by_role("link", name="Skip to main content")).to_have_count(1)
    page.reload()  # the result is stored, not just rendered once
    expect_heading(page, "Module quiz: passed")


def _focused(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => { const e = document.activeElement;
            return {tag: e.tagName.toLowerCase(), type: e.type || "", id: e.id || "",
                    name: e.name || "", text: (e.innerText || e.value || "").trim()}; }"""
    )


def _tab_to(page: Any, matches: Any, limit: int = 400) -> dict[str, str]:
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the element (last focus: {focused})")


def test_keyboard_only_quiz_run_submits(new_context, live, real_course):
    """The real course's first module quiz, with Tab, Space, arrow keys and Enter only."""
    user = create_account(live.engine, "keyboard")
    enrol(live.engine, user, real_course)
    page = new_context().new_page()
    sign_in(page, user.email)
    key = answer_key(ROOT, real_course, "foundations")

    page.goto(f"/courses/{real_course}/modules/foundations")
    _tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Take the quiz")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/attempts/[0-9a-f-]+$"))
    expect_heading(page, "Module quiz")

    focused = _tab_to(page, lambda f: f["name"].startswith("q-"))
    fieldsets = page.locator("fieldset.question").all()
    for fieldset in fieldsets:
        qid = quiz_question_id(fieldset)
        assert focused["name"] == f"q-{qid}", (focused, qid)
        question = key[qid]
        picked = choice(question, right=True)
        if question["type"] == "numeric":
            page.keyboard.type(str(picked))
        elif question["type"] == "multiple":
            boxes = fieldset.locator("input[type=checkbox]").all()
            for index, box in enumerate(boxes):
                label = fieldset.locator(f"label[for='{box.get_attribute('id')}']").inner_text()
                assert _focused(page)["id"] == box.get_attribute("id")
                if label.strip() in picked:
                    page.keyboard.press("Space")
                if index + 1 < len(boxes):
                    page.keyboard.press("Tab")
        else:  # a radio group: Tab lands on its first radio, arrows move and select
            texts = [picked] if isinstance(picked, str) else picked
            target = fieldset.get_by_label(texts[0], exact=True).get_attribute("id")
            radios = fieldset.locator("input[type=radio]").count()
            if _focused(page)["id"] == target:
                page.keyboard.press("Space")
            for _ in range(radios):
                if _focused(page)["id"] == target:
                    break
                page.keyboard.press("ArrowDown")
            assert _focused(page)["id"] == target, (qid, texts)
        focused = _tab_to(page, lambda f: True, limit=1)

    assert focused["tag"] == "button" and focused["text"] == "Submit answers", focused
    page.keyboard.press("Enter")
    expect_heading(page, "Module quiz: passed")
    expect(page.get_by_role("status")).to_contain_text("100%")
    # htmx replaced the form (and the focused button): focus must move to the result heading.
    assert _focused(page)["tag"] == "h1", _focused(page)
