"""Annual activity summary: which courses count as offered, completions once per learner and
completion, hours awarded, grouped by provider; JSON, CSV and the page agree."""

import csv
import io
from datetime import date

import pytest

from app.accounts.models import Role
from app.core.clock import utcnow
from app.courses.models import CourseStatus
from tests.factories import api_token, bearer, make_user, web_login
from tests.reporting.builders import APA, FLORIDA, make_certificate, make_course, reissue

API = "/api/v1/admin/reports/annual-activity"
PAGE = "/admin/reporting/annual-activity"


@pytest.fixture
def year_2026(session):
    """Two providers; courses available, not yet released, expired, and withdrawn (draft)."""
    a = make_course(
        session,
        slug="a-main",
        title="A main course",
        provider="Provider A",
        ce_hours=1.5,
        approvals=[FLORIDA, APA],
    )
    a_later = make_course(
        session,
        slug="a-later",
        title="A later course",
        provider="Provider A",
        release=date(2027, 2, 1),
    )
    a_gone = make_course(
        session,
        slug="a-gone",
        title="A expired course",
        provider="Provider A",
        release=date(2023, 1, 1),
        expires=date(2025, 12, 31),
    )
    b_draft = make_course(
        session,
        slug="b-draft",
        title="B withdrawn course",
        provider="Provider B",
        ce_hours=2.0,
        status=CourseStatus.draft,
    )
    b_quiet = make_course(
        session,
        slug="b-quiet",
        title="B quiet course",
        provider="Provider B",
        ce_hours=3.0,
        release=date(2026, 12, 31),
    )
    learners = [make_user(session) for _ in range(5)]
    # A main: learner 0 completed and was reissued (one completion); learner 1 completed;
    # learner 2 was revoked; learner 3 completed in 2025 and again in 2026 (a renewal);
    # a deleted account (no user) completed, reissued: one completion.
    first = make_certificate(session, a, user=learners[0], completed=date(2026, 2, 1))
    reissue(session, first, learner_name="Renamed")
    make_certificate(session, a, user=learners[1], completed=date(2026, 12, 31))
    make_certificate(session, a, user=learners[2], completed=date(2026, 5, 1), revoked=True)
    make_certificate(session, a, user=learners[3], completed=date(2025, 12, 31))
    make_certificate(session, a, user=learners[3], completed=date(2026, 1, 1), generation=2)
    orphan = make_certificate(session, a, user=None, completed=date(2026, 7, 7))
    reissue(session, orphan)
    # A revoked reissue: the completion no longer counts, though its first certificate was
    # not revoked itself.
    gone = make_certificate(session, a, user=learners[1], completed=date(2026, 3, 3), generation=5)
    second = reissue(session, gone)
    second.revoked_at = utcnow()
    session.add(second)
    # A renewal: the 2026 completion still counts in 2026, the renewal counts in 2027.
    renewed = make_certificate(session, a, user=learners[4], completed=date(2026, 8, 1))
    reissue(session, renewed, completion_date=date(2027, 2, 1))
    # B draft: withdrawn now, but completed in 2026 (hours recorded on the certificate).
    make_certificate(session, b_draft, user=learners[0], completed=date(2026, 6, 1), ce_hours=1.75)
    # A expired course completed in 2025 only: not in 2026.
    make_certificate(session, a_gone, user=learners[1], completed=date(2025, 6, 1))
    session.commit()
    return {"a": a, "a_later": a_later, "a_gone": a_gone, "b_draft": b_draft, "b_quiet": b_quiet}


def _courses(body):
    return {c["slug"]: (p["provider"], c) for p in body["providers"] for c in p["courses"]}


def test_summary_counts_each_completion_once_and_lists_every_course_offered(
    client, admin_headers, year_2026
):
    response = client.get(API, params={"year": 2026}, headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["year"] == 2026
    courses = _courses(body)
    assert set(courses) == {"a-main", "b-draft", "b-quiet"}
    provider, main = courses["a-main"]
    assert provider == "Provider A"
    # learners 0, 1, 3 (a second completion), 4 (renewed in 2027) and the deleted account
    assert main["completions"] == 5
    assert main["hours_awarded"] == 7.5
    assert main["ce_hours"] == 1.5 and main["is_available_in_year"] is True
    # Both approvals were in force at some time in 2026 (APA until June).
    assert [a["id"] for a in main["approvals"]] == ["fl-board", "apa"]
    assert main["approvals"][0]["body"] == "Test State Board of Social Work"
    _, draft = courses["b-draft"]
    assert draft["is_available_in_year"] is False and draft["status"] == "draft"
    assert draft["completions"] == 1 and draft["hours_awarded"] == 1.75
    _, quiet = courses["b-quiet"]
    assert quiet["completions"] == 0 and quiet["is_available_in_year"] is True
    providers = {p["provider"]: p for p in body["providers"]}
    assert [p["provider"] for p in body["providers"]] == ["Provider A", "Provider B"]
    assert providers["Provider A"]["completions"] == 5
    assert providers["Provider B"]["completions"] == 1
    assert providers["Provider B"]["hours_awarded"] == 1.75
    assert body["completions"] == 6 and body["hours_awarded"] == 9.25

    earlier = client.get(API, params={"year": 2025}, headers=admin_headers).json()
    before = _courses(earlier)
    assert set(before) == {"a-main", "a-gone"}
    assert before["a-main"][1]["completions"] == 1  # learner 3's first completion
    assert [a["id"] for a in before["a-main"][1]["approvals"]] == ["apa"]  # FL from 2026
    assert before["a-gone"][1]["completions"] == 1
    later = _courses(client.get(API, params={"year": 2027}, headers=admin_headers).json())
    assert later["a-main"][1]["completions"] == 1  # learner 4's renewal
    assert later["a-later"][1]["is_available_in_year"] is True


def test_csv_has_the_same_figures(client, admin_headers, year_2026):
    json_body = client.get(API, params={"year": 2026}, headers=admin_headers).json()
    response = client.get(API + ".csv", params={"year": 2026}, headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="annual-activity-2026.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "year",
        "provider",
        "row_type",
        "course_slug",
        "course_title",
        "course_version",
        "status",
        "release_date",
        "expires_on",
        "available_in_year",
        "ce_hours",
        "credit_approvals",
        "completions",
        "hours_awarded",
    ]
    assert [(r["row_type"], r["provider"], r["course_slug"]) for r in rows] == [
        ("course", "Provider A", "a-main"),
        ("provider_total", "Provider A", ""),
        ("course", "Provider B", "b-quiet"),
        ("course", "Provider B", "b-draft"),
        ("provider_total", "Provider B", ""),
        ("total", "", ""),
    ]
    main = rows[0]
    assert main["year"] == "2026" and main["course_title"] == "A main course"
    assert main["ce_hours"] == "1.5" and main["completions"] == "5"
    assert main["hours_awarded"] == "7.5" and main["available_in_year"] == "yes"
    assert main["credit_approvals"] == (
        "Test State Board of Social Work BAP-0001: 0.15 CE hours; APA APA-0003: 0.15 CE credits"
    )
    assert (rows[1]["completions"], rows[1]["hours_awarded"]) == ("5", "7.5")
    assert rows[3]["available_in_year"] == "no"
    assert (rows[-1]["completions"], rows[-1]["hours_awarded"]) == (
        str(json_body["completions"]),
        f"{json_body['hours_awarded']:g}",
    )


def test_admin_page_and_csv_download(admin_browser, year_2026):
    page = admin_browser.get(PAGE, params={"year": 2026})
    assert page.status_code == 200
    assert "Annual activity 2026" in page.text
    assert "Provider A" in page.text and "B withdrawn course" in page.text
    assert "<caption" in page.text and 'scope="col"' in page.text
    assert "6 completions, 9.25 CE hours awarded in 2026" in page.text
    csv_page = admin_browser.get(PAGE + ".csv", params={"year": 2026})
    assert csv_page.status_code == 200 and csv_page.text.startswith("year,provider,row_type")
    assert admin_browser.get(PAGE, params={"year": 10000}).status_code == 422


@pytest.mark.parametrize("role", [Role.learner, Role.instructor])
def test_others_are_refused(client, session, role):
    user = make_user(session, role=role)
    session.commit()
    headers = bearer(api_token(client, user.email))
    assert client.get(API, headers=headers).status_code == 403
    assert client.get(API + ".csv", headers=headers).status_code == 403
    web_login(client, user.email)
    assert client.get(PAGE).status_code == 403
    assert client.get(PAGE + ".csv").status_code == 403
