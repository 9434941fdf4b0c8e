"""axe-core (vendored in tests/e2e/vendor/) on every kind of page: no serious or critical
WCAG 2.2 A/AA violations. Best-practice findings and minor/moderate ones are listed as advisories
at the end of the run (see conftest.py), not failed on."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role, User
from tests.content_helpers import KAT, answer_key
from tests.e2e import helpers
from tests.e2e.helpers import (
    DEMO,
    DEMO_ROOT,
    answer_quiz,
    complete_with_certificate,
    create_account,
    enrol,
    expect_heading,
    open_attempt,
    sign_in,
    take_quiz,
)

pytestmark = pytest.mark.e2e

AXE_SOURCE = (Path(__file__).with_name("vendor") / "axe.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


def run_axe(page: Any) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') is untouched.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
    options = {
        "runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
        "resultTypes": ["violations"],
    }
    results = page.evaluate("options => window.axe.run(document, options)", options)
    return list(results["violations"])


def _describe(violation: dict[str, Any]) -> str:
    tags = ", ".join(t for t in violation["tags"] if t.startswith(("wcag", "best")))
    lines = [
        f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({tags})",
        f"      {violation['helpUrl']}",
    ]
    for node in violation["nodes"][:5]:
        target = " ".join(str(t) for t in node["target"])
        summary = " ".join(node.get("failureSummary", "").split())
        lines.append(f"      - {target}\n          {summary[:300]}")
    if len(violation["nodes"]) > 5:
        lines.append(f"      ... and {len(violation['nodes']) - 5} more element(s)")
    return "\n".join(lines)


def assert_accessible(page: Any, name: str) -> None:
    violations = run_axe(page)
    blocking = [
        v for v in violations if v["impact"] in BLOCKING and any(t in WCAG_TAGS for t in v["tags"])
    ]
    advisory = [v for v in violations if v not in blocking]
    if advisory:
        helpers.ADVISORIES.append(
            f"{name} ({page.url}):\n" + "\n".join(_describe(v) for v in advisory)
        )
    if blocking:
        report = "\n".join(_describe(v) for v in blocking)
        pytest.fail(
            f"axe: {len(blocking)} serious/critical WCAG violation(s) on {name} ({page.url}):\n"
            f"{report}",
            pytrace=False,
        )


def assert_reflows(page: Any) -> None:
    """WCAG 1.4.10: at 320 CSS pixels wide the page must not scroll sideways (wide tables may
    scroll inside their own box)."""
    page.set_viewport_size({"width": 320, "height": 640})
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            return [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .slice(0, 5)
                .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
        }"""
    )
    assert not overflow, f"page scrolls sideways at 320px ({page.url}); too wide: {overflow}"


@dataclass
class World:
    """Accounts in known states, each with a signed-in browser context."""

    anonymous: Any
    newcomer: Any  # enrolled in the demo course, nothing passed, an open quiz attempt
    finisher: Any  # passed every demo quiz and the final exam; evaluation still open
    admin: Any
    certified: Any  # completed the demo course and holds its certificate
    certificate: str
    newcomer_attempt: str
    real_attempt: str
    failed_attempt: str
    passed_attempt: str


@pytest.fixture(scope="module")
def world(browser: Any, live: Any, real_course: str) -> Iterator[World]:
    contexts: list[Any] = []

    def context_for(user: User | None) -> Any:
        context = browser.new_context(base_url=live.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        if user is not None:
            page = context.new_page()
            sign_in(page, user.email)
            page.close()
        return context

    newcomer = create_account(live.engine, "a11y-new")
    enrol(live.engine, newcomer, DEMO)
    newcomer_attempt = open_attempt(live.engine, newcomer, DEMO, "intro")

    finisher = create_account(live.engine, "a11y-done")
    enrol(live.engine, finisher, DEMO)
    failed = take_quiz(live.engine, finisher, DEMO, "intro", DEMO_ROOT, right=False)
    passed = take_quiz(live.engine, finisher, DEMO, "intro", DEMO_ROOT)
    take_quiz(live.engine, finisher, DEMO, "next", DEMO_ROOT)
    take_quiz(live.engine, finisher, DEMO, "final", DEMO_ROOT)
    enrol(live.engine, finisher, real_course)
    real_attempt = open_attempt(live.engine, finisher, real_course, "foundations")

    certified = create_account(live.engine, "a11y-certified")
    enrol(live.engine, certified, DEMO)
    code = complete_with_certificate(live.engine, live.settings, certified, DEMO, DEMO_ROOT)

    admin = create_account(live.engine, "a11y-admin", Role.admin)
    try:
        yield World(
            anonymous=context_for(None),
            newcomer=context_for(newcomer),
            finisher=context_for(finisher),
            admin=context_for(admin),
            certified=context_for(certified),
            certificate=code,
            newcomer_attempt=newcomer_attempt,
            real_attempt=real_attempt,
            failed_attempt=failed,
            passed_attempt=passed,
        )
    finally:
        for context in contexts:
            context.close()


# (page type, who looks, path, expected status)
PAGES: list[tuple[str, str, Callable[[World], str], int]] = [
    ("catalog", "anonymous", lambda w: "/", 200),
    ("catalog-search", "anonymous", lambda w: "/?q=zzzz", 200),
    ("sign-in", "anonymous", lambda w: "/signin", 200),
    ("sign-up", "anonymous", lambda w: "/signup", 200),
    ("forgot-password", "anonymous", lambda w: "/forgot", 200),
    ("reset-password-bad-link", "anonymous", lambda w: "/reset/not-a-token", 400),
    ("course-anonymous", "anonymous", lambda w: f"/courses/{DEMO}", 200),
    ("course-closing", "anonymous", lambda w: f"/courses/{KAT}/closing", 200),
    ("verify", "anonymous", lambda w: "/verify", 200),
    ("error-404", "anonymous", lambda w: "/no-such-page", 404),
    ("account", "newcomer", lambda w: "/account", 200),
    ("two-factor-setup", "newcomer", lambda w: "/account/two-factor", 200),
    ("dashboard", "newcomer", lambda w: "/dashboard", 200),
    ("course-enrolled", "newcomer", lambda w: f"/courses/{DEMO}", 200),
    ("module", "newcomer", lambda w: f"/courses/{DEMO}/modules/intro", 200),
    ("error-403-locked-module", "newcomer", lambda w: f"/courses/{DEMO}/modules/next", 403),
    ("quiz", "newcomer", lambda w: f"/attempts/{w.newcomer_attempt}", 200),
    ("dashboard-two-courses", "finisher", lambda w: "/dashboard", 200),
    ("course-exam-passed", "finisher", lambda w: f"/courses/{DEMO}", 200),
    ("module-real-course", "finisher", lambda w: f"/courses/{KAT}/modules/foundations", 200),
    ("quiz-real-course", "finisher", lambda w: f"/attempts/{w.real_attempt}", 200),
    ("results-failed", "finisher", lambda w: f"/attempts/{w.failed_attempt}", 200),
    ("results-passed", "finisher", lambda w: f"/attempts/{w.passed_attempt}", 200),
    ("evaluation", "finisher", lambda w: f"/courses/{DEMO}/evaluation", 200),
    ("transcript-empty", "finisher", lambda w: "/transcript", 200),
    ("transcript", "certified", lambda w: "/transcript", 200),
    ("certificate", "certified", lambda w: f"/certificates/{w.certificate}", 200),
    ("verify-result", "anonymous", lambda w: f"/verify/{w.certificate}", 200),
    ("admin", "admin", lambda w: "/admin", 200),
    ("admin-certificates", "admin", lambda w: "/admin/certificates", 200),
    ("studio", "admin", lambda w: "/studio", 200),
    ("studio-course", "admin", lambda w: f"/studio/courses/{DEMO}", 200),
    ("studio-module-editor", "admin", lambda w: f"/studio/courses/{DEMO}/modules/intro", 200),
    ("studio-quiz-editor", "admin", lambda w: f"/studio/courses/{DEMO}/quizzes/intro", 200),
    ("analytics", "admin", lambda w: f"/studio/courses/{DEMO}/analytics", 200),
    # CE provider operations (issue #10) and the studio's course.yaml forms
    ("licences", "newcomer", lambda w: "/account/licences", 200),
    ("account-delete", "newcomer", lambda w: "/account/delete", 200),
    ("course-certified-renewal", "certified", lambda w: f"/courses/{DEMO}", 200),
    ("reporting", "admin", lambda w: "/admin/reporting", 200),
    ("cebroker-preview", "admin", lambda w: f"/admin/reporting/courses/{DEMO}/cebroker", 200),
    ("annual-activity", "admin", lambda w: "/admin/reporting/annual-activity?year=2026", 200),
    ("studio-evaluation", "admin", lambda w: f"/studio/courses/{DEMO}/evaluation?index=0", 200),
    ("studio-approval", "admin", lambda w: f"/studio/courses/{DEMO}/approvals", 200),
    ("studio-closing", "admin", lambda w: f"/studio/courses/{DEMO}/closing", 200),
]


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [pytest.param(who, path, status, id=name) for name, who, path, status in PAGES],
)
def test_page_has_no_serious_accessibility_violations(world, request, who, path, status):
    page = getattr(world, who).new_page()
    try:
        response = page.goto(path(world))
        assert response is not None and response.status == status, (path(world), response)
        name = request.node.callspec.id
        assert_accessible(page, name)
        assert_reflows(page)  # now 320px wide: a phone, or 400% zoom
        assert_accessible(page, f"{name} at 320px")
    finally:
        page.close()


def test_form_error_states_are_accessible(world):
    page = world.anonymous.new_page()
    try:
        page.goto("/signup")
        page.get_by_label("Email").fill(helpers.new_email("a11y-refused"))
        page.get_by_label("Password").fill("too short")
        page.get_by_label("Full name (as on your licence)").fill("Sam Short")
        page.get_by_role("button", name="Create account").click()
        expect_heading(page, "Create your account")
        assert page.get_by_role("alert").count() == 1
        assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
        assert_accessible(page, "sign-up-with-errors")
    finally:
        page.close()
    page = world.finisher.new_page()
    try:
        page.goto(f"/courses/{DEMO}/evaluation")
        page.get_by_role("button", name="Submit evaluation").click()  # required likert unanswered
        expect_heading(page, "Course evaluation")
        assert page.get_by_role("alert").count() == 1
        assert_accessible(page, "evaluation-with-errors")
    finally:
        page.close()


def test_quiz_result_swapped_in_by_htmx_is_accessible(new_context, live):
    user = create_account(live.engine, "a11y-htmx")
    enrol(live.engine, user, DEMO)
    page = new_context().new_page()
    sign_in(page, user.email)
    page.goto(f"/attempts/{open_attempt(live.engine, user, DEMO, 'intro')}")
    answer_quiz(page, answer_key(DEMO_ROOT, DEMO, "intro"), right=True)
    page.get_by_role("button", name="Submit answers").click()
    expect_heading(page, "Module quiz: passed")
    assert_accessible(page, "results-after-htmx-swap")


def test_axe_harness_reports_a_known_violation(page):
    """Guards the harness itself: a page with a known defect must not pass."""
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    found = {v["id"]: v["impact"] for v in run_axe(page)}
    assert found.get("image-alt") == "critical", found
