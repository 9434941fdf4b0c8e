"""CE Broker roster: preview, mark reported, ledger, workbook read back, re-download, roles."""

import hashlib
import io
import threading
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.certificates.models import Certificate
from app.core.clock import utcnow
from app.core.db import writer
from app.courses.models import Course
from app.reporting import cebroker
from app.reporting import service as reporting
from app.reporting.errors import AlreadyReported, RosterChanged
from app.reporting.models import CEBrokerExport, CEBrokerReport
from tests.factories import api_token, bearer, csrf_token, make_user, web_login
from tests.reporting.builders import (
    APA,
    FLORIDA,
    GEORGIA_NURSES,
    make_certificate,
    make_course,
    reissue,
)

API = "/api/v1/admin/courses/{slug}/cebroker"
PAGE = "/admin/reporting/courses/{slug}/cebroker"


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def course(session):
    course = make_course(session, approvals=[FLORIDA, GEORGIA_NURSES, APA])
    session.commit()
    return course


@pytest.fixture
def records(session, course):
    """One certificate per case the roster distinguishes."""
    c = {
        "fl_social_worker": make_certificate(
            session, course, name="Avery Social", number="sw 1001"
        ),
        "ga_nurse": make_certificate(
            session,
            course,
            name="Blake Nurse",
            state="GA",
            number="RN77",
            profession_key="nurse",
            completed=date(2026, 3, 5),
            approvals=[GEORGIA_NURSES],
        ),
        "no_number": make_certificate(session, course, name="Casey Nonumber", number="  "),
        "revoked": make_certificate(
            session, course, name="Drew Revoked", number="SW-9", revoked=True
        ),
        "ca_social_worker": make_certificate(
            session, course, name="Emery California", state="CA", number="CA-1", approvals=[]
        ),
        "fl_counselor": make_certificate(
            session, course, name="Finley Counselor", number="LPC-5", profession_key="counselor"
        ),
        "psychologist": make_certificate(
            session,
            course,
            name="Gray Psych",
            number="PSY-1",
            profession_key="psychologist",
            approvals=[APA],
        ),
        # A formula-looking licence number must arrive as text, not be run by a spreadsheet.
        "formula": make_certificate(
            session, course, name="Harper Formula", number="=1+2", completed=date(2026, 4, 1)
        ),
    }
    old = make_certificate(
        session, course, name="Indigo Oldname", number="MFT-3", profession_key="mft"
    )
    c["superseded"] = old
    c["reissued"] = reissue(session, old, learner_name="Indigo Newname")
    session.commit()
    return c


def _preview(client, headers, course):
    response = client.get(API.format(slug=course.slug) + "/preview", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _mark(client, headers, course, digest):
    return client.post(
        API.format(slug=course.slug) + "/exports", headers=headers, json={"digest": digest}
    )


def test_preview_lists_rows_and_skipped_reasons_and_writes_nothing(
    client, session, admin_headers, course, records
):
    audit_before = _count(session, AuditEntry)
    body = _preview(client, admin_headers, course)
    rows = {r["certificate_code"]: r for r in body["rows"]}
    assert set(rows) == {
        records[k].code for k in ("fl_social_worker", "ga_nurse", "formula", "reissued")
    }
    skipped = {s["certificate_code"]: s["reason"] for s in body["skipped"]}
    assert skipped == {
        records["no_number"].code: "no_licence_number",
        records["revoked"].code: "revoked",
        records["ca_social_worker"].code: "no_cebroker_approval",
        records["fl_counselor"].code: "no_profession_code",
        records["psychologist"].code: "no_cebroker_approval",
        records["superseded"].code: "superseded",
    }
    detail = {s["certificate_code"]: s["detail"] for s in body["skipped"]}
    assert records["reissued"].code in detail[records["superseded"].code]
    assert "Professional Counselor" in detail[records["fl_counselor"].code]
    assert body["columns"][0].startswith("A: Provider tracking number")
    assert len(body["columns"]) == 10
    # Nothing written by looking.
    assert _count(session, CEBrokerExport) == 0
    assert _count(session, CEBrokerReport) == 0
    assert _count(session, AuditEntry) == audit_before
    assert _preview(client, admin_headers, course)["digest"] == body["digest"]


def test_exported_workbook_read_back_has_every_column(
    client, session, admin_headers, course, records
):
    preview = _preview(client, admin_headers, course)
    response = _mark(client, admin_headers, course, preview["digest"])
    assert response.status_code == 201, response.text
    export = response.json()
    assert export["row_count"] == 4
    download = client.get(export["download_url"], headers=admin_headers)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert export["file_name"] in download.headers["content-disposition"]

    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["Roster"]
    sheet = book["Roster"]
    assert sheet.max_column <= 10
    values = [list(r) for r in sheet.iter_rows(min_row=1, max_col=10, values_only=True)]
    # Rows in completion-date order, then by name; no header row (CE Broker reads every row).
    social, reissued, nurse, formula = values
    midnight = datetime.min.time()
    assert social == [
        "11111",  # A provider tracking number, "50-" dropped
        "222222",  # B course tracking number, "20-" dropped
        None,  # C own course id: not used when there is a tracking number
        None,  # D publishing number
        "sw 1001",  # E licence number as recorded (trimmed)
        datetime.combine(date(2026, 3, 2), midnight),  # F completion date, an Excel date
        "State=FL",  # G
        "Profession=TSW",  # H
        None,  # I subject code: full credit
        None,  # J hours: full credit
    ]
    assert reissued == [
        "11111",
        "222222",
        None,
        None,
        "MFT-3",
        datetime.combine(date(2026, 3, 2), midnight),
        "State=FL",
        "Profession=TMFT",
        None,
        None,
    ]
    assert nurse == [
        "33333",
        None,  # no course tracking number ...
        course.slug,  # ... so the provider's own course id
        None,
        "RN77",
        datetime.combine(date(2026, 3, 5), midnight),
        "State=GA",
        "Profession=TRN",
        "TSUBJ",  # I subject area code, partial credit
        0.1,  # J hours
    ]
    assert formula[4] == "=1+2"
    assert sheet.cell(row=4, column=5).data_type == "s"  # text, never a formula
    assert sheet.cell(row=1, column=6).number_format == "m/d/yyyy"
    assert sheet.cell(row=1, column=1).number_format == "@"  # text keeps leading zeros
    assert sheet.cell(row=1, column=6).is_date
    # The ledger holds what was sent.
    ledger = session.exec(select(CEBrokerReport).order_by(col(CEBrokerReport.row_number))).all()
    assert [r.certificate_code for r in ledger] == [
        records[k].code for k in ("fl_social_worker", "reissued", "ga_nurse", "formula")
    ]
    assert ledger[0].licence_key == "SW1001" and ledger[0].licence_number == "sw 1001"
    assert [r["certificate_code"] for r in export["rows"]] == [r.certificate_code for r in ledger]
    assert export["rows"][2]["cells"] == [
        "33333",
        "",
        course.slug,
        "",
        "RN77",
        "2026-03-05",
        "State=GA",
        "Profession=TRN",
        "TSUBJ",
        0.1,
    ]


def test_two_exports_of_the_same_completions_report_each_licensee_once(
    client, session, admin_headers, course, records
):
    first = _mark(client, admin_headers, course, _preview(client, admin_headers, course)["digest"])
    assert first.status_code == 201
    again = _preview(client, admin_headers, course)
    assert again["rows"] == []
    already = [s for s in again["skipped"] if s["reason"] == "already_reported"]
    assert len(already) == 4
    assert all(f"export {first.json()['id']} of" in s["detail"] for s in already)
    second = _mark(client, admin_headers, course, again["digest"])
    assert second.status_code == 409
    assert "reported already" in second.json()["detail"]

    # New completions: one new licensee, the same licensee with the same completion written
    # differently (not again), and a renewal (a later completion: reported).
    make_certificate(session, course, name="Jules New", number="SW-2002")
    make_certificate(session, course, name="Avery Social", number="SW1001")
    make_certificate(
        session,
        course,
        name="Avery Social",
        number="SW 1001",
        completed=date(2027, 3, 2),
        generation=2,
    )
    session.commit()
    third_preview = _preview(client, admin_headers, course)
    assert sorted((r["licence_number"], r["completion_date"]) for r in third_preview["rows"]) == [
        ("SW 1001", "2027-03-02"),
        ("SW-2002", "2026-03-02"),
    ]
    third = _mark(client, admin_headers, course, third_preview["digest"])
    assert third.status_code == 201 and third.json()["row_count"] == 2

    keys = session.exec(
        select(
            CEBrokerReport.state,
            CEBrokerReport.profession_code,
            CEBrokerReport.licence_key,
            CEBrokerReport.completion_date,
        )
    ).all()
    assert len(keys) == 6 == len(set(keys))
    listing = client.get(API.format(slug=course.slug) + "/exports", headers=admin_headers).json()
    assert [e["row_count"] for e in listing] == [2, 4]  # newest first


def test_marking_a_roster_other_than_the_preview_is_409_and_writes_nothing(
    client, session, admin_headers, course, records
):
    stale = _preview(client, admin_headers, course)["digest"]
    make_certificate(session, course, name="Late Arrival", number="SW-3003")
    session.commit()
    response = _mark(client, admin_headers, course, stale)
    assert response.status_code == 409
    assert "changed since it was previewed" in response.json()["detail"]
    assert response.json()["digest"] == _preview(client, admin_headers, course)["digest"]
    assert _count(session, CEBrokerExport) == 0
    assert _count(session, CEBrokerReport) == 0
    bad = _mark(client, admin_headers, course, "short")
    assert bad.status_code == 422


def test_the_ledger_constraint_refuses_a_stale_export_however_it_was_computed(
    session, admin, course, records
):
    plan = reporting.roster(session, course)  # computed before the other export commits
    reporting.mark_reported(session, admin, course, plan.digest, now=utcnow(), creator="t")
    session.commit()
    with pytest.raises(AlreadyReported):
        reporting.record_export(session, admin, course, plan.rows, now=utcnow(), creator="t")
    assert _count(session, CEBrokerExport) == 1
    assert _count(session, CEBrokerReport) == 4
    with pytest.raises(RosterChanged):
        reporting.mark_reported(session, admin, course, plan.digest, now=utcnow(), creator="t")
    # And directly at the database: the unique key itself.
    row = session.exec(select(CEBrokerReport)).first()
    clone = CEBrokerReport(**row.model_dump(exclude={"id", "row_number"}), row_number=99)

    def insert_clone() -> None:
        with session.begin_nested():
            session.add(clone)
            session.flush()

    with pytest.raises(IntegrityError):
        insert_clone()


def test_redownload_is_byte_for_byte_the_first_download(
    client, session, admin_headers, course, records
):
    export = _mark(
        client, admin_headers, course, _preview(client, admin_headers, course)["digest"]
    ).json()
    first = client.get(export["download_url"], headers=admin_headers).content
    assert hashlib.sha256(first).hexdigest() == export["sha256"]
    # Later certificates and revocations change the roster, never a past export.
    make_certificate(session, course, name="Another One", number="SW-4004")
    records["fl_social_worker"].revoked_at = utcnow()
    session.add(records["fl_social_worker"])
    session.commit()
    again = client.get(export["download_url"], headers=admin_headers).content
    assert again == first
    detail = client.get(
        API.format(slug=course.slug) + f"/exports/{export['id']}", headers=admin_headers
    ).json()
    assert detail["sha256"] == export["sha256"] and len(detail["rows"]) == 4
    assert detail["rows"][0]["cells"][6] == "State=FL"
    assert detail["created_by"] == "Ada Admin"


def test_export_of_another_course_is_404(client, session, admin_headers, course, records):
    export = _mark(
        client, admin_headers, course, _preview(client, admin_headers, course)["digest"]
    ).json()
    other = make_course(session, slug="other-course")
    session.commit()
    for suffix in (f"/exports/{export['id']}", f"/exports/{export['id']}/roster.xlsx"):
        assert (
            client.get(API.format(slug=other.slug) + suffix, headers=admin_headers).status_code
            == 404
        )
    assert (
        client.get(API.format(slug="nope") + "/preview", headers=admin_headers).status_code == 404
    )


@pytest.mark.parametrize("role", [Role.learner, Role.instructor])
def test_only_admins_reach_the_roster(client, session, course, records, role):
    user = make_user(session, role=role)
    session.commit()
    headers = bearer(api_token(client, user.email))
    base = API.format(slug=course.slug)
    assert client.get(base + "/preview", headers=headers).status_code == 403
    assert (
        client.post(base + "/exports", headers=headers, json={"digest": "0" * 64}).status_code
        == 403
    )
    assert client.get(base + "/exports", headers=headers).status_code == 403
    web_login(client, user.email)
    assert client.get(PAGE.format(slug=course.slug)).status_code == 403
    token = csrf_token(client, "/account")
    page_post = client.post(
        PAGE.format(slug=course.slug) + "/exports",
        data={"csrf_token": token, "digest": "0" * 64},
        follow_redirects=False,
    )
    assert page_post.status_code == 403
    assert _count(session, CEBrokerExport) == 0


def test_admin_previews_marks_and_redownloads_in_the_browser(
    admin_browser, session, course, records
):
    client = admin_browser
    page = client.get(PAGE.format(slug=course.slug))
    assert page.status_code == 200
    html = page.text
    assert "Not yet reported (4)" in html and "Skipped (6)" in html
    assert "no licence number on the certificate" in html
    assert "<caption" in html and 'scope="col"' in html
    digest = reporting.preview(session, course).digest
    assert f'name="digest" value="{digest}"' in html
    token = csrf_token(client, PAGE.format(slug=course.slug))
    done = client.post(
        PAGE.format(slug=course.slug) + "/exports",
        data={"csrf_token": token, "digest": digest},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    export = session.exec(select(CEBrokerExport)).one()
    assert done.headers["location"].endswith(f"?exported={export.id}")
    after = client.get(done.headers["location"]).text
    assert f"Export {export.id} is marked reported (4 licensees)" in after
    assert "Not yet reported (0)" in after
    file = client.get(PAGE.format(slug=course.slug) + f"/exports/{export.id}/roster.xlsx")
    assert file.status_code == 200 and file.content == export.content
    detail = client.get(PAGE.format(slug=course.slug) + f"/exports/{export.id}")
    assert detail.status_code == 200 and records["ga_nurse"].code in detail.text
    # Marking the same preview again: refused, the page says why, nothing new is written.
    repeat = client.post(
        PAGE.format(slug=course.slug) + "/exports",
        data={"csrf_token": token, "digest": digest},
        follow_redirects=False,
    )
    assert repeat.status_code == 409
    assert "changed since it was previewed" in repeat.text
    assert _count(session, CEBrokerExport) == 1
    assert client.get("/admin/reporting").status_code == 200


RACERS = 4
RACE_SLUG = "cebroker-race-course"


@pytest.fixture
def committed_course(engine):
    """A course with certificates committed for real, so separate connections can race."""
    with Session(engine, expire_on_commit=False) as s:
        course = make_course(s, slug=RACE_SLUG, approvals=[FLORIDA])
        for n in range(5):
            make_certificate(s, course, name=f"Racer {n}", number=f"SW-R{n}")
        admin = make_user(s, role=Role.admin, email="cebroker-race-admin@example.org")
        s.commit()
    try:
        yield course, admin
    finally:
        with Session(engine) as s:
            export_ids = select(CEBrokerExport.id).where(CEBrokerExport.course_id == course.id)
            s.exec(delete(CEBrokerReport).where(col(CEBrokerReport.export_id).in_(export_ids)))
            s.exec(delete(CEBrokerExport).where(col(CEBrokerExport.course_id) == course.id))
            s.exec(delete(Certificate).where(col(Certificate.course_id) == course.id))
            s.exec(delete(Course).where(col(Course.id) == course.id))
            s.exec(delete(User).where(col(User.id) == admin.id))
            s.commit()


def test_racing_exports_report_each_licensee_once(engine, committed_course):
    course, admin = committed_course
    with Session(engine) as s:
        digest = reporting.roster(s, s.get(Course, course.id)).digest
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def export() -> None:
        with Session(writer(engine), expire_on_commit=False) as s:
            start.wait()
            try:
                mine = s.get(Course, course.id)
                user = s.get(User, admin.id)
                reporting.mark_reported(s, user, mine, digest, now=utcnow(), creator="race")
                s.commit()
                outcomes.append("exported")
            except (AlreadyReported, RosterChanged) as exc:
                s.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=export) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes).count("exported") == 1, outcomes
    assert len(outcomes) == RACERS
    with Session(engine) as s:
        exports = s.exec(select(CEBrokerExport).where(CEBrokerExport.course_id == course.id)).all()
        reports = s.exec(select(CEBrokerReport).where(CEBrokerReport.course_id == course.id)).all()
    assert len(exports) == 1 and exports[0].row_count == 5
    assert sorted(r.licence_key for r in reports) == [f"SW-R{n}" for n in range(5)]


def test_a_renewal_is_a_new_completion_but_a_reissue_is_not(client, session, admin_headers, course):
    first = make_certificate(session, course, name="Rene Wal", number="SW-77")
    renewal = reissue(session, first, completion_date=date(2028, 2, 1))
    corrected = make_certificate(session, course, name="Cora Rected", number="SW-WRONG")
    fixed = reissue(session, corrected, license_number="SW-RIGHT")
    session.commit()
    body = _preview(client, admin_headers, course)
    assert sorted((r["licence_number"], r["completion_date"]) for r in body["rows"]) == [
        ("SW-77", "2026-03-02"),
        ("SW-77", "2028-02-01"),
        ("SW-RIGHT", "2026-03-02"),
    ]
    assert {r["certificate_code"] for r in body["rows"]} == {first.code, renewal.code, fixed.code}
    assert [(s["certificate_code"], s["reason"]) for s in body["skipped"]] == [
        (corrected.code, "superseded")
    ]


def test_roster_rules_on_plain_data():
    """build_roster directly: duplicates in one roster, and tracking numbers without prefixes."""
    base = cebroker.Completion(
        certificate_id=1,
        code="TST-AAAA-AAAA",
        learner_name="A",
        state="fl",
        licence_number="X1",
        profession_key="social-worker",
        completion_date=date(2026, 1, 2),
        approvals=[FLORIDA.to_json()],
    )
    twin = cebroker.Completion(**{**base.__dict__, "certificate_id": 2, "code": "TST-BBBB-BBBB"})
    plan = cebroker.build_roster([base, twin], course_ref="c", reported={})
    assert [r.certificate_code for r in plan.rows] == ["TST-AAAA-AAAA"]
    assert plan.rows[0].state == "FL"
    assert [(s.reason, s.certificate_code) for s in plan.skipped] == [
        ("duplicate", "TST-BBBB-BBBB")
    ]
    reported = {plan.rows[0].key: "export 9 of 2026-01-03"}
    again = cebroker.build_roster([base], course_ref="c", reported=reported)
    assert (
        again.rows == [] and again.skipped[0].detail == "already reported in export 9 of 2026-01-03"
    )
