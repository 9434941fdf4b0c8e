"""Licence numbers are shown to the learner and admins only, never on public pages."""

import base64
import json

from tests.factories import csrf_token, make_user, web_login
from tests.records.helpers import certify, demo_course

NUMBER = "LCSW-12345"  # make_user's licence


def test_public_pages_never_show_the_licence_number(client, session, settings):
    course = demo_course(session)
    user = make_user(session)
    cert = certify(session, user, course, settings)
    assert cert.license_number == NUMBER  # the certificate does carry one
    token = csrf_token(client, "/verify")
    public = {
        "verify page": client.get(f"/verify/{cert.code}"),
        "verify by token": client.post(
            "/verify", data={"code_or_token": cert.token, "csrf_token": token}
        ),
        "record API": client.get(f"/api/v1/certificates/{cert.code}"),
        "verify API": client.post("/api/v1/verify", json={"token": cert.token}),
        "batch API": client.post("/api/v1/verify/batch", json={"items": [cert.code, cert.token]}),
    }
    for where, response in public.items():
        assert response.status_code == 200, (where, response.status_code)
        assert cert.code in response.text, where
        assert NUMBER not in response.text, f"licence number on the public {where}"
    payload = cert.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert NUMBER not in json.dumps(claims)  # nor in the credential anyone can decode


def test_the_learner_sees_their_own_licence_number(client, session, settings):
    course = demo_course(session)
    user = make_user(session)
    cert = certify(session, user, course, settings)
    other = make_user(session)
    session.commit()
    web_login(client, user.email)
    assert NUMBER in client.get(f"/certificates/{cert.code}").text
    assert NUMBER in client.get("/account/licences").text
    client.cookies.clear()
    web_login(client, other.email)
    assert client.get(f"/certificates/{cert.code}").status_code == 404
