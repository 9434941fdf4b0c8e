"""Bulk download of a course's certificates: every PDF and a manifest that describes them."""

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.accounts.models import Role
from app.certificates.models import Certificate
from app.reporting import service as reporting
from tests.content_helpers import complete_course, import_tree
from tests.factories import api_token, bearer, make_user, web_login
from tests.reporting.builders import FLORIDA

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
API = "/api/v1/admin/courses/demo-course/certificates.zip"
PAGE = "/admin/reporting/courses/demo-course/certificates.zip"
MANIFEST = [
    "code",
    "learner_name",
    "profession",
    "state",
    "licence_number",
    "completion_date",
    "issued_at",
    "expires_at",
    "status",
    "ce_hours",
    "file_name",
    "sha256",
]


@pytest.fixture
def issued(client, session, admin_headers):
    """Three learners claim; an admin reissues one certificate and revokes another."""
    course = import_tree(session, DEMO)[0]
    names = ["Zoë Ñúñez-Øster", "=cmd|' /C calc'!A0", "Pat Plain"]
    codes = []
    for name in names:
        user = make_user(session, full_name=name)
        session.commit()
        complete_course(session, user, course, DEMO)
        claim = client.post(
            "/api/v1/courses/demo-course/certificate", headers=bearer(api_token(client, user.email))
        )
        assert claim.status_code == 201, claim.text
        codes.append(claim.json()["code"])
    reissued = client.post(f"/api/v1/admin/certificates/{codes[0]}/reissue", headers=admin_headers)
    assert reissued.status_code == 201, reissued.text
    revoked = client.post(
        f"/api/v1/admin/certificates/{codes[1]}/revocation",
        headers=admin_headers,
        json={"reason": "test revocation"},
    )
    assert revoked.status_code == 200, revoked.text
    return course, {
        "first": codes[0],
        "reissue": reissued.json()["code"],
        "revoked": codes[1],
        "plain": codes[2],
    }


def _open(content: bytes) -> tuple[zipfile.ZipFile, list[dict[str, str]]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.testzip() is None
    manifest = archive.read("manifest.csv").decode("utf-8")
    reader = csv.DictReader(io.StringIO(manifest))
    assert reader.fieldnames == MANIFEST
    return archive, list(reader)


def test_zip_holds_every_certificate_and_a_manifest_that_matches(
    client, session, admin_headers, issued
):
    course, codes = issued
    response = client.get(API, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="certificates-demo-course.zip"' in response.headers["content-disposition"]
    assert response.headers["x-parts-total"] == "1"
    archive, rows = _open(response.content)
    by_code = {r["code"]: r for r in rows}
    assert set(by_code) == set(codes.values())
    assert sorted(archive.namelist()) == sorted(
        ["manifest.csv", "credit_basis.json", *(f"certificates/{c}.pdf" for c in codes.values())]
    )
    basis = json.loads(archive.read("credit_basis.json"))
    assert set(basis) == set(codes.values())
    status = {code: by_code[c]["status"] for code, c in codes.items()}
    assert status == {
        "first": "superseded",
        "reissue": "valid",
        "revoked": "revoked",
        "plain": "valid",
    }
    certs = {c.code: c for c in session.exec(select(Certificate)).all()}
    for row in rows:
        cert = certs[row["code"]]
        data = archive.read(row["file_name"])
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
        assert cert.code in text
        assert row["completion_date"] == cert.completion_date.isoformat()
        assert row["issued_at"] == cert.issued_at.date().isoformat()
        assert row["expires_at"] == (cert.expires_at.date().isoformat() if cert.expires_at else "")
        assert row["state"] == cert.license_state == "CA"
        assert row["licence_number"] == cert.license_number == "LCSW-12345"
        assert row["profession"] == "Clinical Social Worker (LCSW)"
        assert row["ce_hours"] == f"{course.ce_hours:g}"
        assert basis[cert.code] == {"credit_basis": cert.credit_basis, "approvals": cert.approvals}
        assert basis[cert.code]["credit_basis"]["content_version"] == course.version
    assert by_code[codes["plain"]]["learner_name"] == "Pat Plain"
    assert by_code[codes["first"]]["learner_name"] == "Zoë Ñúñez-Øster"
    # A name a spreadsheet would run as a formula is written as text.
    assert by_code[codes["revoked"]]["learner_name"] == "'=cmd|' /C calc'!A0"


def test_large_courses_download_in_parts(client, admin_headers, issued, monkeypatch):
    monkeypatch.setattr(reporting, "ZIP_PART_SIZE", 3)
    first = client.get(API, headers=admin_headers)
    assert first.headers["x-parts-total"] == "2"
    assert "certificates-demo-course-part1of2.zip" in first.headers["content-disposition"]
    second = client.get(API, params={"part": 2}, headers=admin_headers)
    _, rows1 = _open(first.content)
    _, rows2 = _open(second.content)
    assert len(rows1) == 3 and len(rows2) == 1
    assert {r["code"] for r in rows1}.isdisjoint(r["code"] for r in rows2)
    beyond = client.get(API, params={"part": 3}, headers=admin_headers)
    assert beyond.status_code == 422 and beyond.json()["parts"] == 2


def test_admin_downloads_the_zip_from_the_reports_page(client, admin, issued):
    web_login(client, admin.email)
    index = client.get("/admin/reporting")
    assert index.status_code == 200 and PAGE in index.text
    response = client.get(PAGE)
    assert response.status_code == 200
    _, rows = _open(response.content)
    assert len(rows) == 4


@pytest.mark.parametrize("role", [Role.learner, Role.instructor])
def test_others_cannot_download(client, session, role):
    user = make_user(session, role=role)
    session.commit()
    assert client.get(API, headers=bearer(api_token(client, user.email))).status_code == 403
    web_login(client, user.email)
    assert client.get(PAGE).status_code == 403


def test_issued_certificates_reach_the_cebroker_roster(client, session, admin_headers):
    """End to end: a learner claims under a CE Broker approval; the roster reports them."""
    course = import_tree(session, DEMO)[0]
    approval = FLORIDA.to_json() | {"states": ["CA"], "credit_amount": course.ce_hours}
    course.approvals = [approval]
    course.credit_basis = "Reading time at 200 words a minute."
    session.add(course)
    user = make_user(session, full_name="Quinn Claimant")
    session.commit()
    complete_course(session, user, course, DEMO)
    claim = client.post(
        "/api/v1/courses/demo-course/certificate", headers=bearer(api_token(client, user.email))
    )
    assert claim.status_code == 201, claim.text
    preview = client.get(
        "/api/v1/admin/courses/demo-course/cebroker/preview", headers=admin_headers
    ).json()
    assert preview["skipped"] == []
    [row] = preview["rows"]
    assert row["certificate_code"] == claim.json()["code"]
    assert (row["state"], row["licence_number"], row["profession_code"]) == (
        "CA",
        "LCSW-12345",
        "TSW",
    )
