"""Who may see a course's analytics, over pages, CSV and the API."""

import csv
import io
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.analytics import service as analytics
from app.core.errors import Forbidden
from tests.content_helpers import complete_course, import_tree
from tests.factories import api_token, bearer, make_user, web_login

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
PAGE = "/studio/courses/demo-course/analytics"
CSV = PAGE + "/learners.csv"
API = "/api/v1/courses/demo-course/analytics"


@pytest.fixture
def owned(session):
    course = import_tree(session, DEMO)[0]
    owner = make_user(session, role=Role.instructor)
    course.owner_id = owner.id
    session.add(course)
    learner = make_user(session, full_name="=Formula Learner", email="formula@example.org")
    session.commit()
    complete_course(session, learner, course, DEMO)
    return course, owner


def test_owner_sees_charts_with_text_alternatives(client, owned):
    _, owner = owned
    web_login(client, owner.email)
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count('role="img"') >= 3  # funnel, pass rate, one likert question
    assert '<title id="funnel-chart-title">' in html
    assert '<desc id="funnel-chart-desc">Enrolled: 1;' in html
    assert '<caption id="funnel-cap">Learners reaching each step' in html
    assert 'role="region" tabindex="0" aria-labelledby="funnel-cap"' in html  # a unique name
    assert 'scope="col"' in html
    assert "style=" not in html.split("<main", 1)[1]  # the CSP allows no inline style
    assert "<script" not in html.split("<main", 1)[1]
    assert "/studio/courses/demo-course/quizzes/intro#q-intro-mechanism" in html


def test_learner_filter_form_and_csv_export(client, owned):
    _, owner = owned
    web_login(client, owner.email)
    page = client.get(PAGE, params={"status": "not_started"})
    assert "No learners match." in page.text
    page = client.get(PAGE, params={"q": "formula"})
    assert "=Formula Learner" in page.text
    response = client.get(CSV, params={"status": "final_passed"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "demo-course-learners.csv" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["full_name", "email", "enrolled_at", "status"]
    assert len(rows) == 2
    assert rows[1][0] == "'=Formula Learner"  # no formula injection into spreadsheets
    assert rows[1][3] == "final_passed"
    assert client.get(CSV, params={"status": "bogus"}).status_code == 422


def test_api_twin_returns_the_report(client, owned):
    _, owner = owned
    response = client.get(API, headers=bearer(api_token(client, owner.email)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["count"] for s in body["funnel"]] == [1, 1, 1, 1, 0]
    assert body["modules"][0]["bank_key"] == "intro"
    assert {"difficulty", "discrimination", "options", "flags", "edit_url"} <= set(body["items"][0])


def test_other_instructor_gets_404_everywhere(client, session, owned):
    other = make_user(session, role=Role.instructor)
    session.commit()
    web_login(client, other.email)
    assert client.get(PAGE).status_code == 404
    assert client.get(CSV).status_code == 404
    assert client.get(API, headers=bearer(api_token(client, other.email))).status_code == 404


def test_admin_sees_any_course(client, session, owned):
    admin = make_user(session, role=Role.admin)
    session.commit()
    web_login(client, admin.email)
    assert client.get(PAGE).status_code == 200
    assert client.get(API, headers=bearer(api_token(client, admin.email))).status_code == 200


def test_learner_gets_403(client, session, owned):
    learner = make_user(session)
    session.commit()
    web_login(client, learner.email)
    assert client.get(PAGE).status_code == 403
    assert client.get(CSV).status_code == 403
    assert client.get(API, headers=bearer(api_token(client, learner.email))).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, owned):
    page = client.get(PAGE, follow_redirects=False)
    assert page.status_code in (303, 401)
    if page.status_code == 303:
        assert page.headers["location"].startswith("/signin")
    assert client.get(API).status_code == 401


def test_course_list_follows_the_same_rule(session, owned):
    course, owner = owned
    other = make_user(session, role=Role.instructor)
    admin = make_user(session, role=Role.admin)
    assert [c.slug for c in analytics.list_courses_for_staff(session, owner)] == [course.slug]
    assert analytics.list_courses_for_staff(session, other) == []
    assert course.slug in [c.slug for c in analytics.list_courses_for_staff(session, admin)]
    with pytest.raises(Forbidden):
        analytics.list_courses_for_staff(session, make_user(session))
