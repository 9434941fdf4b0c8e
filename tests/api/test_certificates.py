# ruff: noqa: F811  (the schema validator fixture is imported, then used as a parameter)
import base64
import gzip
import json
from pathlib import Path

import jwt as pyjwt
import pytest
from sqlalchemy import text

from app.audit import service as audit
from app.certificates import service as certificates
from app.certificates.pdf import check_pdf
from app.core.clock import utcnow
from app.core.errors import Forbidden
from tests.certificates.test_schema import errors, validator  # noqa: F401 (fixture)
from tests.content_helpers import complete_course, import_tree
from tests.factories import api_token, bearer, make_user

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"


@pytest.fixture
def course(session):
    return import_tree(session, DEMO)[0]


@pytest.fixture
def graduate(client, session, course):
    user = make_user(session, full_name="Zoë Ñúñez-Øster")
    session.commit()
    complete_course(session, user, course, DEMO)
    return user, bearer(api_token(client, user.email))


def _claim(client, headers):
    return client.post("/api/v1/courses/demo-course/certificate", headers=headers)


def test_claim_before_completion_lists_what_is_missing(client, session, course):
    user = make_user(session)
    session.commit()
    headers = bearer(api_token(client, user.email))
    client.post("/api/v1/courses/demo-course/enrollment", headers=headers)
    response = _claim(client, headers)
    assert response.status_code == 403
    body = response.json()
    assert "requirement" in body["detail"]
    assert "pass the final exam" in body["missing"]
    assert "submit the course evaluation" in body["missing"]
    assert any(m.startswith("pass module") for m in body["missing"])


def test_claim_issues_once_and_returns_the_same_certificate(client, graduate):
    _, headers = graduate
    first = _claim(client, headers)
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"code", "token", "verify_url", "pdf_url"}
    assert body["verify_url"] == f"http://testserver/verify/{body['code']}"
    again = _claim(client, headers)
    assert again.status_code == 200
    assert again.json()["code"] == body["code"]
    detail = client.get("/api/v1/courses/demo-course", headers=headers).json()
    assert detail["certificate"] == {"code": body["code"]}


def test_issued_token_has_the_contract_shape_and_validates_against_ob30(
    client, graduate, validator
):
    _, headers = graduate
    token = _claim(client, headers).json()["token"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert set(header) == {"alg", "kid", "typ"}
    assert header["alg"] == "ES256" and header["typ"] == "JWT"
    assert header["kid"].startswith("http://testserver/keys/")
    payload = pyjwt.decode(token, options={"verify_signature": False})
    assert payload["iss"] == payload["issuer"]["id"]
    assert payload["jti"] == payload["id"]
    assert payload["sub"] == payload["credentialSubject"]["id"]
    assert payload["credentialSubject"]["name"] == "Zoë Ñúñez-Øster"
    user, _ = graduate
    assert "LCSW-12345" not in json.dumps(payload)  # no licence number
    assert user.email not in json.dumps(payload)  # no email
    assert payload["credentialStatus"]["type"] == "BitstringStatusListEntry"
    credential = {
        k: v for k, v in payload.items() if k not in {"iss", "jti", "sub", "nbf", "exp", "iat"}
    }
    assert errors(validator, credential) == []


def _verify_with_pyjwt(client, token):
    jwks = client.get("/.well-known/jwks.json").json()
    kid = pyjwt.get_unverified_header(token)["kid"]
    assert client.get(kid.replace("http://testserver", "")).json()["kid"] == kid
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    key = pyjwt.PyJWK(jwk)
    return pyjwt.decode(token, key=key, algorithms=[jwk["alg"]], options={"verify_aud": False})


def test_an_independent_jose_library_verifies_with_the_jwks_across_rotation(
    client, session, course, settings, graduate
):
    user, headers = graduate
    es256_token = _claim(client, headers).json()["token"]
    assert _verify_with_pyjwt(client, es256_token)["credentialSubject"]["name"] == user.full_name
    certificates.keystore(settings).rotate("RS256")
    other = make_user(session, full_name="Ana Ruiz")
    session.commit()
    complete_course(session, other, course, DEMO)
    rs256_token = _claim(client, bearer(api_token(client, other.email))).json()["token"]
    assert pyjwt.get_unverified_header(rs256_token)["alg"] == "RS256"
    assert _verify_with_pyjwt(client, rs256_token)["credentialSubject"]["name"] == "Ana Ruiz"
    assert _verify_with_pyjwt(client, es256_token)  # the old key is still published
    certificates.keystore(settings).rotate("ES256")
    assert _verify_with_pyjwt(client, rs256_token) and _verify_with_pyjwt(client, es256_token)
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 3


def test_public_lookup_verify_revoke_and_status_list(client, session, graduate):
    _, learner = graduate
    issued = _claim(client, learner).json()
    public = client.get(f"/api/v1/certificates/{issued['code']}").json()
    assert public["status"] == "valid"
    assert {
        "code",
        "status",
        "learner_name",
        "course_title",
        "ce_hours",
        "issued_at",
        "expires_at",
    } <= set(public)
    assert "license_number" not in public and "email" not in public
    assert client.get("/api/v1/certificates/KAT-2222-3333").status_code == 404
    verdict = client.post("/api/v1/verify", json={"token": issued["token"]}).json()
    assert verdict["valid"] is True and verdict["status"] == "valid"
    # tampered token
    head, body, sig = issued["token"].split(".")
    forged = f"{head}.{body[:-4]}AAAA.{sig}"
    assert client.post("/api/v1/verify", json={"token": forged}).json()["valid"] is False

    admin = make_user(session, role=__import__("app.accounts.models", fromlist=["Role"]).Role.admin)
    session.commit()
    admin_headers = bearer(api_token(client, admin.email))
    assert (
        client.post(
            f"/api/v1/admin/certificates/{issued['code']}/revocation",
            headers=learner,
            json={"reason": "x" * 5},
        ).status_code
        == 403
    )
    revoked = client.post(
        f"/api/v1/admin/certificates/{issued['code']}/revocation",
        headers=admin_headers,
        json={"reason": "Issued in error"},
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert (
        client.post(
            f"/api/v1/admin/certificates/{issued['code']}/revocation",
            headers=admin_headers,
            json={"reason": "again"},
        ).status_code
        == 409
    )
    verdict = client.post("/api/v1/verify", json={"token": issued["token"]}).json()
    assert (
        verdict["valid"] is False
        and verdict["status"] == "revoked"
        and "Issued in error" in verdict["reason"]
    )
    # Any VC verifier sees the revocation through the signed status list.
    status_token = client.get("/credentials/status/revocation").text
    status_vc = _verify_with_pyjwt(client, status_token)
    encoded = status_vc["credentialSubject"]["encodedList"]
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    index = int(
        pyjwt.decode(issued["token"], options={"verify_signature": False})["credentialStatus"][
            "statusListIndex"
        ]
    )
    assert bits[index // 8] >> (7 - index % 8) & 1 == 1
    page = client.get(f"/verify/{issued['code']}")
    assert "Revoked" in page.text and "Issued in error" in page.text


def test_batch_verification_keeps_order_and_limits_size(client, graduate):
    _, learner = graduate
    issued = _claim(client, learner).json()
    items = [issued["code"], "KAT-2222-3333", issued["token"], "garbage.token.here"]
    results = client.post("/api/v1/verify/batch", json={"items": items}).json()["results"]
    assert [r["item"] for r in results] == items
    assert [r["valid"] for r in results] == [True, False, True, False]
    assert results[0]["certificate"]["code"] == issued["code"]
    assert "credential" not in results[0]  # the record, not the whole signed credential
    assert client.post("/api/v1/verify/batch", json={"items": ["x"] * 101}).status_code == 422


def test_reissue_supersedes_and_names_the_successor(client, session, graduate):
    from app.accounts.models import Role

    user, learner = graduate
    old = _claim(client, learner).json()
    user.full_name = "Zoë Núñez-Øster"
    session.add(user)
    admin = make_user(session, role=Role.admin)
    session.commit()
    response = client.post(
        f"/api/v1/admin/certificates/{old['code']}/reissue",
        headers=bearer(api_token(client, admin.email)),
    )
    assert response.status_code == 201
    new = response.json()
    assert new["learner_name"] == "Zoë Núñez-Øster" and new["status"] == "valid"
    old_status = client.get(f"/api/v1/certificates/{old['code']}").json()
    assert old_status["status"] == "superseded" and old_status["superseded_by"] == new["code"]
    assert new["code"] in client.get(f"/verify/{old['code']}").text


def test_pdf_download_verifies_and_is_private(client, session, settings, graduate):
    user, learner = graduate
    code = _claim(client, learner).json()["code"]
    from tests.factories import csrf_token, web_login

    web_login(client, user.email)
    response = client.get(f"/certificates/{code}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    result = check_pdf(response.content, certificates.jwks(settings), now=utcnow())
    assert result.valid, result.reason
    wallet = client.get(f"/certificates/{code}.json").json()
    assert wallet["proof"]["jwt"].count(".") == 2
    out = client.post(
        "/signout", data={"csrf_token": csrf_token(client, "/account")}, follow_redirects=False
    )
    assert out.status_code == 303, out.text
    stranger = make_user(session)
    session.commit()
    web_login(client, stranger.email)
    assert client.get(f"/certificates/{code}.pdf").status_code == 404


def test_verify_page_accepts_a_code_a_token_and_a_pdf(client, session, settings, graduate):
    _, learner = graduate
    issued = _claim(client, learner).json()
    csrf = client.get("/verify").cookies.get("lms_csrf") or client.cookies.get("lms_csrf")
    by_code = client.post(
        "/verify", data={"code_or_token": issued["code"].lower(), "csrf_token": csrf}
    )
    assert by_code.status_code == 200 and "Valid" in by_code.text and "Zoë" in by_code.text
    by_token = client.post("/verify", data={"code_or_token": issued["token"], "csrf_token": csrf})
    assert "What the signed certificate says" in by_token.text
    cert = certificates.get_certificate(session, issued["code"])
    pdf_bytes = certificates.render_pdf(session, cert)
    by_pdf = client.post(
        "/verify",
        data={"csrf_token": csrf},
        files={"document": ("c.pdf", pdf_bytes, "application/pdf")},
    )
    assert by_pdf.status_code == 200 and "✓" in by_pdf.text
    not_pdf = client.post(
        "/verify",
        data={"csrf_token": csrf},
        files={"document": ("c.pdf", b"hello", "application/pdf")},
    )
    assert not_pdf.status_code == 422


def test_transcript_totals_hours(client, graduate):
    _, learner = graduate
    _claim(client, learner)
    transcript = client.get("/api/v1/me/transcript", headers=learner).json()
    assert transcript["total_ce_hours"] == 0.15
    assert len(transcript["certificates"]) == 1
    assert len(client.get("/api/v1/me/certificates", headers=learner).json()) == 1


def test_audit_chain_records_grading_and_issue_and_detects_an_edited_row(client, session, graduate):
    _, learner = graduate
    _claim(client, learner)
    check = audit.verify_chain(session)
    assert check.ok and check.entries >= 4
    actions = {row[0] for row in session.execute(text("SELECT action FROM audit_entry"))}
    assert {"attempt.grade", "certificate.issue"} <= actions
    victim = session.execute(
        text("SELECT id FROM audit_entry WHERE action = 'certificate.issue'")
    ).scalar()
    session.execute(
        text("UPDATE audit_entry SET subject = 'KAT-FAKE-FAKE' WHERE id = :i"), {"i": victim}
    )
    session.expire_all()
    broken = audit.verify_chain(session)
    assert not broken.ok and broken.first_broken_id == victim


def test_requirements_unmet_is_a_forbidden_error(session, course, settings):
    user = make_user(session)
    with pytest.raises(Forbidden):
        certificates.issue_certificate(session, user, course, now=utcnow(), settings=settings)
