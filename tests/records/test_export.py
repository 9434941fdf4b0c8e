"""Data export: everything about the learner, nothing about anybody else, as a page download
and through the API."""

import json

from app.core.clock import utcnow
from app.records import service as records
from tests.factories import api_token, bearer, make_user, web_login
from tests.records.helpers import COMMENT, certify, demo_course


def _two_learners(client, session, settings):
    course = demo_course(session)
    me = make_user(session, full_name="Morgan Me")
    them = make_user(session, full_name="Taylor Them")
    mine = certify(session, me, course, settings)
    theirs = certify(session, them, course, settings)
    web_login(client, me.email)
    client.get("/courses/demo-course/modules/intro")  # a module visit
    client.cookies.clear()
    return me, them, mine, theirs


def _check(data, me, them, mine, theirs):
    assert data["format"] == "clinician-ce-data-export/1"
    assert data["profile"]["email"] == me.email
    assert data["profile"]["full_name"] == "Morgan Me"
    assert [(x["state"], x["number"]) for x in data["licences"]] == [("CA", "LCSW-12345")]
    [enrolment] = data["enrolments"]
    assert enrolment["course"] == "demo-course"
    assert [v["module"] for v in enrolment["module_visits"]] == ["intro"]
    quizzes = {a["quiz"] for a in data["quiz_attempts"]}
    assert quizzes == {"intro", "next", "final"}
    for attempt in data["quiz_attempts"]:
        assert attempt["passed"] is True and attempt["score"] is not None
        assert attempt["answers"] and attempt["questions"]
        # Questions as shown: prompts and options, never which option is correct.
        assert all("correct" not in o for q in attempt["questions"] for o in q["options"])
    [evaluation] = data["evaluations"]
    assert evaluation["answers"]["comments"] == COMMENT
    [cert] = data["certificates"]
    assert cert["code"] == mine.code and cert["license_number"] == "LCSW-12345"
    assert cert["credit_basis"] == mine.credit_basis and cert["credit_basis"]["modules"]
    assert cert["token"] == mine.token
    actions = {(e["action"], e["subject"]) for e in data["audit_entries"]}
    assert ("certificate.issue", mine.code) in actions
    text = json.dumps(data)
    for foreign in (them.email, them.uuid, "Taylor Them", theirs.code):
        assert foreign not in text, f"another learner's {foreign!r} in the export"


def test_the_page_downloads_everything_held_about_the_learner(client, session, settings):
    me, them, mine, theirs = _two_learners(client, session, settings)
    web_login(client, me.email)
    response = client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    _check(response.json(), me, them, mine, theirs)


def test_the_api_returns_the_same_export(client, session, settings):
    me, them, mine, theirs = _two_learners(client, session, settings)
    response = client.get("/api/v1/me/data", headers=bearer(api_token(client, me.email)))
    assert response.status_code == 200
    _check(response.json(), me, them, mine, theirs)


def test_the_service_exports_a_learner_with_no_activity(session):
    user = make_user(session)
    export = records.export_user_data(session, user, now=utcnow())
    assert export.profile.email == user.email
    assert export.enrolments == [] and export.certificates == [] and export.quiz_attempts == []
    assert len(export.licences) == 1


def test_export_needs_sign_in(client):
    assert client.get("/api/v1/me/data").status_code == 401
    assert client.get("/account/data.json", follow_redirects=False).status_code == 303
