"""Every route from every role, anonymous included. A new route without an entry fails here."""

import re

import pytest

from app.accounts.models import Role
from tests.factories import api_token, bearer, csrf_token, make_user, web_login

P, U, S, A = "public", "signed-in", "staff", "admin"
MATRIX = {
    ("POST", "/api/v1/auth/register"): P,
    ("POST", "/api/v1/auth/token"): P,
    ("GET", "/api/v1/me"): U,
    ("DELETE", "/api/v1/me"): U,
    ("GET", "/api/v1/me/data"): U,
    ("GET", "/api/v1/me/licences"): U,
    ("POST", "/api/v1/me/licences"): U,
    ("PUT", "/api/v1/me/licences/{licence_id}"): U,
    ("DELETE", "/api/v1/me/licences/{licence_id}"): U,
    ("GET", "/api/v1/courses"): U,
    ("GET", "/api/v1/courses/{slug}"): U,
    ("POST", "/api/v1/courses/{slug}/enrollment"): U,
    ("GET", "/api/v1/courses/{slug}/modules/{module}"): U,
    ("POST", "/api/v1/courses/{slug}/modules/{module}/attempts"): U,
    ("POST", "/api/v1/courses/{slug}/final-exam/attempts"): U,
    ("GET", "/api/v1/courses/{slug}/evaluation"): U,
    ("POST", "/api/v1/courses/{slug}/evaluation"): U,
    ("POST", "/api/v1/attempts/{attempt_id}/submission"): U,
    ("POST", "/api/v1/courses/{slug}/certificate"): U,
    ("GET", "/api/v1/courses/{slug}/certificate/renewal"): U,
    ("POST", "/api/v1/courses/{slug}/certificate/renewal"): U,
    ("GET", "/api/v1/courses/{slug}/analytics"): S,
    ("GET", "/api/v1/me/certificates"): U,
    ("GET", "/api/v1/me/transcript"): U,
    ("GET", "/api/v1/certificates/{code}"): P,
    ("POST", "/api/v1/verify"): P,
    ("POST", "/api/v1/verify/batch"): P,
    ("GET", "/api/v1/admin/users"): A,
    ("POST", "/api/v1/admin/certificates/{code}/revocation"): A,
    ("POST", "/api/v1/admin/certificates/{code}/reissue"): A,
    ("GET", "/api/v1/admin/courses/{slug}/cebroker/preview"): A,
    ("POST", "/api/v1/admin/courses/{slug}/cebroker/exports"): A,
    ("GET", "/api/v1/admin/courses/{slug}/cebroker/exports"): A,
    ("GET", "/api/v1/admin/courses/{slug}/cebroker/exports/{export_id}"): A,
    ("GET", "/api/v1/admin/courses/{slug}/cebroker/exports/{export_id}/roster.xlsx"): A,
    ("GET", "/api/v1/admin/reports/annual-activity"): A,
    ("GET", "/api/v1/admin/reports/annual-activity.csv"): A,
    ("GET", "/api/v1/admin/courses/{slug}/certificates.zip"): A,
    ("GET", "/healthz"): P,
    ("GET", "/.well-known/jwks.json"): P,
    ("GET", "/keys/{thumbprint}"): P,
    ("GET", "/issuer"): P,
    ("GET", "/credentials/status/revocation"): P,
    ("GET", "/"): P,
    ("GET", "/dashboard"): U,
    ("GET", "/courses/{slug}"): P,
    ("POST", "/courses/{slug}/enroll"): U,
    ("GET", "/courses/{slug}/modules/{module}"): U,
    ("GET", "/courses/{slug}/closing"): P,
    ("GET", "/courses/{slug}/assets/{path}"): P,
    ("POST", "/courses/{slug}/modules/{module}/quiz"): U,
    ("POST", "/courses/{slug}/final-exam"): U,
    ("GET", "/attempts/{attempt_id}"): U,
    ("POST", "/attempts/{attempt_id}"): U,
    ("GET", "/courses/{slug}/evaluation"): U,
    ("POST", "/courses/{slug}/evaluation"): U,
    ("POST", "/courses/{slug}/certificate"): U,
    ("POST", "/courses/{slug}/certificate/renewal"): U,
    ("GET", "/certificates/{code}.pdf"): U,
    ("GET", "/certificates/{code}.json"): U,
    ("GET", "/certificates/{code}"): U,
    ("GET", "/transcript"): U,
    ("GET", "/transcript.csv"): U,
    ("GET", "/verify"): P,
    ("POST", "/verify"): P,
    ("GET", "/verify/{code}"): P,
    ("GET", "/admin/certificates"): A,
    ("POST", "/admin/certificates/{code}/revoke"): A,
    ("POST", "/admin/certificates/{code}/reissue"): A,
    ("GET", "/signup"): P,
    ("POST", "/signup"): P,
    ("GET", "/signin"): P,
    ("POST", "/signin"): P,
    ("GET", "/signin/two-factor"): U,
    ("POST", "/signin/two-factor"): U,
    ("POST", "/signout"): P,
    ("GET", "/forgot"): P,
    ("POST", "/forgot"): P,
    ("GET", "/reset/{token}"): P,
    ("POST", "/reset/{token}"): P,
    ("GET", "/account"): U,
    ("POST", "/account/profile"): U,
    ("POST", "/account/password"): U,
    ("GET", "/account/two-factor"): U,
    ("POST", "/account/two-factor"): U,
    ("POST", "/account/two-factor/recovery-codes"): U,
    ("POST", "/account/two-factor/disable"): U,
    ("GET", "/account/licences"): U,
    ("POST", "/account/licences"): U,
    ("GET", "/account/licences/{licence_id}/edit"): U,
    ("POST", "/account/licences/{licence_id}"): U,
    ("POST", "/account/licences/{licence_id}/remove"): U,
    ("GET", "/account/data.json"): U,
    ("GET", "/account/delete"): U,
    ("POST", "/account/delete"): U,
    ("GET", "/admin"): A,
    ("POST", "/admin/settings"): A,
    ("GET", "/admin/reporting"): A,
    ("GET", "/admin/reporting/courses/{slug}/cebroker"): A,
    ("POST", "/admin/reporting/courses/{slug}/cebroker/exports"): A,
    ("GET", "/admin/reporting/courses/{slug}/cebroker/exports/{export_id}"): A,
    ("GET", "/admin/reporting/courses/{slug}/cebroker/exports/{export_id}/roster.xlsx"): A,
    ("GET", "/admin/reporting/annual-activity"): A,
    ("GET", "/admin/reporting/annual-activity.csv"): A,
    ("GET", "/admin/reporting/courses/{slug}/certificates.zip"): A,
    ("GET", "/studio"): S,
    ("POST", "/studio/courses"): S,
    ("GET", "/studio/courses/{slug}"): S,
    ("POST", "/studio/courses/{slug}"): S,
    ("POST", "/studio/courses/{slug}/modules"): S,
    ("GET", "/studio/courses/{slug}/modules/{module}"): S,
    ("POST", "/studio/courses/{slug}/modules/{module}"): S,
    ("POST", "/studio/courses/{slug}/modules/{module}/move"): S,
    ("POST", "/studio/courses/{slug}/modules/{module}/remove"): S,
    ("GET", "/studio/courses/{slug}/modules/{module}/history"): S,
    ("POST", "/studio/courses/{slug}/preview"): S,
    ("GET", "/studio/courses/{slug}/quizzes/{module}"): S,
    ("POST", "/studio/courses/{slug}/quizzes/{module}"): S,
    ("GET", "/studio/courses/{slug}/quizzes/{module}/questions"): S,
    ("POST", "/studio/courses/{slug}/quizzes/{module}/questions"): S,
    ("POST", "/studio/courses/{slug}/quizzes/{module}/questions/remove"): S,
    ("GET", "/studio/courses/{slug}/source"): S,
    ("POST", "/studio/courses/{slug}/source"): S,
    ("POST", "/studio/courses/{slug}/publish"): S,
    ("POST", "/studio/courses/{slug}/discard"): S,
    ("POST", "/studio/courses/{slug}/prerequisites"): S,
    ("GET", "/studio/courses/{slug}/evaluation"): S,
    ("POST", "/studio/courses/{slug}/evaluation"): S,
    ("POST", "/studio/courses/{slug}/evaluation/move"): S,
    ("POST", "/studio/courses/{slug}/evaluation/remove"): S,
    ("GET", "/studio/courses/{slug}/approvals"): S,
    ("POST", "/studio/courses/{slug}/approvals"): S,
    ("POST", "/studio/courses/{slug}/approvals/move"): S,
    ("POST", "/studio/courses/{slug}/approvals/remove"): S,
    ("GET", "/studio/courses/{slug}/closing"): S,
    ("POST", "/studio/courses/{slug}/closing"): S,
    ("POST", "/studio/courses/{slug}/closing/remove"): S,
    ("GET", "/studio/courses/{slug}/analytics"): S,
    ("GET", "/studio/courses/{slug}/analytics/learners.csv"): S,
}
ALLOWED = {None: {P}, Role.learner: {P, U}, Role.instructor: {P, U, S}, Role.admin: {P, U, S, A}}
SAMPLE = {
    "slug": "no-such-course",
    "module": "no-such-module",
    "attempt_id": "0" * 36,
    "code": "KAT-2222-3333",
    "thumbprint": "nope",
    "path": "x.png",
    "token": "nope",
    "export_id": "0",
    "licence_id": "0",
}
ROLE_DENIED = "this needs one of the roles"


def _routes(app) -> set[tuple[str, str]]:
    return {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}


def test_every_route_has_an_entry(app):
    routes = _routes(app)
    assert routes - set(MATRIX) == set(), "add the new routes to MATRIX"
    assert set(MATRIX) - routes == set(), "remove routes that no longer exist"


def _call(client, method, path, headers, csrf):
    url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, headers=headers, json={}, follow_redirects=False)
    return client.request(
        method, url, headers=headers, data={"csrf_token": csrf}, follow_redirects=False
    )


def _denied_as_anonymous(response, path) -> bool:
    if path.startswith("/api/"):
        return response.status_code == 401
    if response.status_code == 303:
        return response.headers["location"].startswith("/signin")
    return response.status_code == 401 and "please sign in" in response.text


@pytest.mark.parametrize("role", [None, Role.learner, Role.instructor, Role.admin])
def test_each_role_gets_what_it_should(client, session, role):
    headers: dict[str, str] = {}
    if role is not None:
        user = make_user(session, role=role)
        session.commit()
        headers = bearer(api_token(client, user.email))
        web_login(client, user.email)
    csrf = csrf_token(client, "/signin" if role is None else "/account")
    failures = []
    for (method, path), level in sorted(MATRIX.items()):
        if (method, path) == ("POST", "/signout"):
            continue  # would end this client's session; tested in tests/web/test_accounts.py
        response = _call(client, method, path, headers, csrf)
        where = f"{role.value if role else 'anonymous'} {method} {path} -> {response.status_code}"
        if response.status_code >= 500:
            failures.append(f"{where}: server error")
        elif level in ALLOWED[role]:
            if response.status_code == 403 and ROLE_DENIED in response.text:
                failures.append(f"{where}: refused although allowed")
            if level != P and _denied_as_anonymous(response, path):
                failures.append(f"{where}: treated as anonymous")
        elif role is None:
            if not _denied_as_anonymous(response, path):
                failures.append(f"{where}: should ask to sign in")
        elif not (response.status_code == 403 and ROLE_DENIED in response.text):
            failures.append(f"{where}: should be 403 for this role")
    assert failures == []
