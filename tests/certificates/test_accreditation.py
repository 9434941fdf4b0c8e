"""Accreditation approvals: content-check rules, which statements print, the pass-mark rule at
issue, the licence chosen at claim, and renewal. Runs on SQLite and PostgreSQL."""

import io
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlmodel import select

from app.audit.models import AuditEntry
from app.certificates import service as certificates
from app.certificates.errors import RequirementsUnmet
from app.core.clock import utcnow
from app.courses import service as courses
from app.licences import service as licences
from app.licences.errors import LicenceChoiceNeeded, LicenceNotFound
from app.licences.schemas import LicenceIn
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.studio.parsing import load_content
from tests.content_helpers import answer_key, complete_course, correct_answers, import_tree
from tests.factories import api_token, bearer, csrf_token, make_user, web_login

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
SLUG = "demo-course"
TODAY = date(2026, 11, 23)

APA = """
  - id: apa-home-study
    body: APA
    number: "APA-0000"
    statement: Example CE Provider is approved by the American Psychological Association to sponsor continuing education for psychologists.
    credit_type: CE credits
    credit_amount: 0.15
    professions: [psychologist]
    valid_from: 2026-01-01
    valid_until: 2030-12-31
"""
LAPSED_ASWB = """
  - id: aswb-2025
    body: ASWB ACE
    number: "ACE-1111"
    statement: Example CE Provider is approved as an ACE provider (lapsed approval text).
    credit_type: clinical CE hours
    credit_amount: 0.15
    professions: [social-worker]
    valid_from: 2024-01-01
    valid_until: 2025-12-31
"""
CREDIT_BASIS = 'credit_basis: "0.15 hours: about 6 minutes of reading and 3 quiz questions."\n'


def write_tree(
    root: Path, *, approvals: str = "", final_pass_mark: float = 0.8, basis: str = CREDIT_BASIS
) -> Path:
    """A copy of the demo content with approvals and the final exam's pass mark changed."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(DEMO, root)
    course_yaml = root / "courses" / SLUG / "course.yaml"
    text = course_yaml.read_text() + basis
    if approvals:
        text += "approvals:" + approvals
    course_yaml.write_text(text)
    final = root / "quizzes" / SLUG / "final.yaml"
    final.write_text(final.read_text().replace("pass_mark: 0.8", f"pass_mark: {final_pass_mark}"))
    return root


def problems(root: Path) -> list[str]:
    return [str(p) for p in load_content(root, today=TODAY).problems]


# --- lms content check ---------------------------------------------------------------------------


def test_a_course_whose_pass_mark_is_under_an_approvals_minimum_fails_content_check(tmp_path):
    root = write_tree(tmp_path / "c", approvals=APA, final_pass_mark=0.7)
    found = problems(root)
    assert any(
        "course.yaml:" in p
        and "accreditation rule: the final exam's pass mark 70% is under the 75% minimum "
        "of approval 'apa-home-study' (APA)"
        in p
        for p in found
    ), found


def test_an_explicit_minimum_is_checked_for_any_body(tmp_path):
    nbcc = APA.replace("body: APA", "body: NBCC").replace(
        "valid_until: 2030-12-31", "valid_until: 2030-12-31\n    min_pass_mark: 0.9"
    )
    found = problems(write_tree(tmp_path / "c", approvals=nbcc, final_pass_mark=0.8))
    assert any("pass mark 80% is under the 90% minimum" in p for p in found), found


def test_an_approval_needs_the_credit_basis_documented(tmp_path):
    found = problems(write_tree(tmp_path / "c", approvals=APA, basis=""))
    assert any("needs the course's credit_basis" in p for p in found), found


def test_an_unknown_profession_is_a_schema_error_on_its_line(tmp_path):
    bad = APA.replace("professions: [psychologist]", "professions: [astronaut]")
    found = problems(write_tree(tmp_path / "c", approvals=bad))
    assert len(found) == 1 and found[0].startswith("courses/demo-course/course.yaml:46: ")
    assert "approvals[0].professions[0]: unknown profession 'astronaut'" in found[0]


def test_approval_mistakes_are_reported_with_their_line(tmp_path):
    bad = (
        APA
        + LAPSED_ASWB.replace("body: ASWB ACE", "body: State board")
        + APA.replace("credit_amount: 0.15", "credit_amount: 5")
    )
    found = problems(write_tree(tmp_path / "c", approvals=bad))
    text = "\n".join(found)
    assert "approval 'aswb-2025': name the state board in body_name" in text
    assert "duplicate approval id 'apa-home-study'" in text
    assert "awards 5 credits, more than the course's 0.15 ce_hours" in text
    assert all(p.startswith("courses/demo-course/course.yaml:") for p in found), found


def test_a_lapsed_approval_is_a_warning_not_an_error(tmp_path):
    report = load_content(write_tree(tmp_path / "c", approvals=LAPSED_ASWB), today=TODAY)
    assert report.errors == []
    assert any("approval 'aswb-2025' lapsed on 2025-12-31" in str(p) for p in report.warnings)


# --- issuing under approvals --------------------------------------------------------------------


def _learner(session, profession: str, state: str = "CA", number: str = "N-1"):
    user = make_user(session)
    for lic in licences.licences_of(session, user):
        licences.remove_licence(session, user, lic.id)
    licences.add_licence(
        session,
        user,
        LicenceIn(profession=profession, state=state, number=number),
        now=utcnow(),
    )
    session.commit()
    return user


def _pdf_text(session, cert) -> str:
    data = certificates.render_pdf(session, cert)
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_statements_follow_the_learners_profession_and_a_lapsed_approval_no_longer_prints(
    client, session, settings, tmp_path
):
    root = write_tree(tmp_path / "c", approvals=APA + LAPSED_ASWB)
    course = import_tree(session, root)[0]
    psychologist = _learner(session, "psychologist", number="PSY-1")
    social_worker = _learner(session, "social-worker", number="LCSW-9")
    for user in (psychologist, social_worker):
        complete_course(session, user, course, root)

    cert, _ = certificates.issue_certificate(
        session, psychologist, course, now=utcnow(), settings=settings
    )
    assert [a["id"] for a in cert.approvals] == ["apa-home-study"]
    assert cert.license_number == "PSY-1" and cert.profession == "Psychologist"
    view = certificates.certificate_view(cert, course)
    assert view.accreditation_statements == [
        "Example CE Provider is approved by the American Psychological Association to sponsor "
        "continuing education for psychologists. (APA APA-0000: 0.15 CE credits)"
    ]
    assert "American Psychological Association" in _pdf_text(session, cert)
    session.commit()
    web_login(client, psychologist.email)
    printable = client.get(f"/certificates/{cert.code}").text
    assert "(APA APA-0000: 0.15 CE credits)" in printable

    lapsed, _ = certificates.issue_certificate(
        session, social_worker, course, now=utcnow(), settings=settings
    )
    assert lapsed.approvals == []
    text = _pdf_text(session, lapsed)
    assert "lapsed approval text" not in text
    # Without an approval that applies, the provider's general statement prints.
    assert certificates.certificate_view(lapsed, course).accreditation_statements == [
        course.accreditation_statement
    ]
    assert lapsed.credit_basis["approvals"] == []
    assert cert.credit_basis["approvals"] == ["apa-home-study"]
    assert cert.credit_basis["course_credit_basis"].startswith("0.15 hours")
    assert cert.credit_basis["final_score"] == 1.0
    assert {m["slug"] for m in cert.credit_basis["modules"]} == {"intro", "next"}


def _take_final(session, user, course, right: int, *, now=None):
    now = now or utcnow()
    started = quizzes.start_attempt(session, user, course, "final", now=now)
    questions = grading.public_questions(started.attempt.snapshot)
    answers = correct_answers(questions, answer_key(DEMO, SLUG, "final"))
    for q in questions[right:]:
        del answers[q["id"]]  # unanswered counts as wrong
    result = quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=now)
    session.commit()
    return result


def test_a_pass_under_an_approvals_minimum_blocks_the_certificate(session, settings, tmp_path):
    # Version 1 let learners pass the final with 50%; version 2 adds an APA approval (75%).
    v1 = write_tree(tmp_path / "v1", final_pass_mark=0.5)
    course = import_tree(session, v1)[0]
    user = _learner(session, "psychologist")
    courses.enroll(session, user, course, now=utcnow())
    for key in ("intro", "next"):
        started = quizzes.start_attempt(session, user, course, key, now=utcnow())
        questions = grading.public_questions(started.attempt.snapshot)
        answers = correct_answers(questions, answer_key(DEMO, SLUG, key))
        quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=utcnow())
    assert _take_final(session, user, course, right=1).passed  # 1 of 2 = 50%
    quizzes.submit_evaluation(session, user, course, {"objectives-met": 4}, now=utcnow())
    session.commit()

    course = import_tree(session, write_tree(tmp_path / "v2", approvals=APA))[0]
    with pytest.raises(RequirementsUnmet) as refused:
        certificates.issue_certificate(session, user, course, now=utcnow(), settings=settings)
    assert refused.value.extra["missing"] == [
        "final exam score 50% is under the 75% minimum of approval 'apa-home-study' (APA)"
    ]
    assert certificates.find_active(session, user, course) is None

    assert _take_final(session, user, course, right=2).passed
    cert, created = certificates.issue_certificate(
        session, user, course, now=utcnow(), settings=settings
    )
    assert created and [a["id"] for a in cert.approvals] == ["apa-home-study"]
    assert cert.credit_basis["final_score"] == 1.0


def test_the_refusal_reaches_the_api_and_the_course_page(client, session, tmp_path):
    v1 = write_tree(tmp_path / "v1", final_pass_mark=0.5)
    course = import_tree(session, v1)[0]
    user = _learner(session, "psychologist")
    courses.enroll(session, user, course, now=utcnow())
    for key in ("intro", "next"):
        started = quizzes.start_attempt(session, user, course, key, now=utcnow())
        questions = grading.public_questions(started.attempt.snapshot)
        answers = correct_answers(questions, answer_key(DEMO, SLUG, key))
        quizzes.submit_attempt(session, user, started.attempt.public_id, answers, now=utcnow())
    _take_final(session, user, course, right=1)
    quizzes.submit_evaluation(session, user, course, {"objectives-met": 4}, now=utcnow())
    session.commit()
    import_tree(session, write_tree(tmp_path / "v2", approvals=APA))

    response = client.post(
        f"/api/v1/courses/{SLUG}/certificate", headers=bearer(api_token(client, user.email))
    )
    assert response.status_code == 403
    assert "75% minimum of approval 'apa-home-study'" in response.json()["missing"][0]

    web_login(client, user.email)
    page = client.post(
        f"/courses/{SLUG}/certificate", data={"csrf_token": csrf_token(client, f"/courses/{SLUG}")}
    )
    assert page.status_code == 403
    assert "accreditation rules" in page.text
    assert "75% minimum of approval" in page.text


# --- licences at claim --------------------------------------------------------------------------


def test_a_learner_with_several_licences_chooses_one(client, session, settings, tmp_path):
    root = write_tree(tmp_path / "c", approvals=APA)
    course = import_tree(session, root)[0]
    user = _learner(session, "social-worker", state="NY", number="LCSW-NY")
    psych = licences.add_licence(
        session, user, LicenceIn(profession="psychologist", state="FL", number="PY9"), now=utcnow()
    )
    other = _learner(session, "psychologist", number="NOT-MINE")
    complete_course(session, user, course, root)
    headers = bearer(api_token(client, user.email))

    choose = client.post(f"/api/v1/courses/{SLUG}/certificate", headers=headers)
    assert choose.status_code == 422
    assert {c["number"] for c in choose.json()["choices"]} == {"LCSW-NY", "PY9"}

    foreign = licences.licences_of(session, other)[0]
    refused = client.post(
        f"/api/v1/courses/{SLUG}/certificate", headers=headers, json={"licence_id": foreign.id}
    )
    assert refused.status_code == 404

    issued = client.post(
        f"/api/v1/courses/{SLUG}/certificate", headers=headers, json={"licence_id": psych.id}
    )
    assert issued.status_code == 201, issued.text
    cert = certificates.get_certificate(session, issued.json()["code"])
    assert (cert.license_state, cert.license_number, cert.profession_key) == (
        "FL",
        "PY9",
        "psychologist",
    )
    assert cert.licence_id == psych.id
    assert [a["id"] for a in cert.approvals] == ["apa-home-study"]
    public = client.get(f"/api/v1/certificates/{cert.code}").json()
    assert "PY9" not in str(public)


def test_the_course_page_offers_each_licence(client, session, tmp_path):
    root = write_tree(tmp_path / "c")
    course = import_tree(session, root)[0]
    user = _learner(session, "social-worker", number="LCSW-77")
    licences.add_licence(
        session, user, LicenceIn(profession="nurse", state="TX", number="RN-5"), now=utcnow()
    )
    complete_course(session, user, course, root)
    web_login(client, user.email)
    page = client.get(f"/courses/{SLUG}")
    assert "Which licence is this certificate for?" in page.text
    assert "licence LCSW-77" in page.text and "licence RN-5" in page.text
    chosen = licences.licences_of(session, user)[1]
    response = client.post(
        f"/courses/{SLUG}/certificate",
        data={"csrf_token": csrf_token(client, f"/courses/{SLUG}"), "licence_id": str(chosen.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    cert = certificates.find_active(session, user, course)
    assert cert is not None and cert.license_number == "RN-5" and cert.license_state == "TX"


# --- renewal ------------------------------------------------------------------------------------


def test_renewal_opens_before_expiry_and_needs_the_final_passed_again(
    client, session, settings, tmp_path
):
    root = write_tree(tmp_path / "c", approvals=APA)
    course = import_tree(session, root)[0]
    user = _learner(session, "psychologist")
    complete_course(session, user, course, root)
    old, _ = certificates.issue_certificate(session, user, course, now=utcnow(), settings=settings)
    session.commit()
    assert old.expires_at is not None

    status = certificates.renewal_status(session, user, course, now=utcnow(), settings=settings)
    assert status is not None and not status.is_open
    with pytest.raises(RequirementsUnmet) as early:
        certificates.renew_certificate(session, user, course, now=utcnow(), settings=settings)
    assert early.value.extra["missing"][0].startswith("renewal opens on ")

    later = old.expires_at - timedelta(days=settings.expiry_reminder_days - 1)
    status = certificates.renewal_status(session, user, course, now=later, settings=settings)
    assert status is not None and status.is_open and not status.final_passed
    with pytest.raises(RequirementsUnmet) as unpassed:
        certificates.renew_certificate(session, user, course, now=later, settings=settings)
    assert unpassed.value.extra["missing"] == ["pass the final exam again (its current version)"]

    assert _take_final(session, user, course, right=2, now=later).passed
    new = certificates.renew_certificate(session, user, course, now=later, settings=settings)
    session.commit()
    assert new.generation == old.generation + 1
    assert new.completion_date == later.date()
    assert new.expires_at is not None and new.expires_at > old.expires_at
    assert old.superseded_by_id == new.id
    assert certificates.find_active(session, user, course).id == new.id
    assert [a["id"] for a in new.approvals] == ["apa-home-study"]
    entry = session.exec(select(AuditEntry).where(AuditEntry.subject == new.code)).one()
    assert entry.action == "certificate.renew" and entry.data["renews"] == old.code

    # The API reports the new certificate's own renewal window.
    body = client.get(
        f"/api/v1/courses/{SLUG}/certificate/renewal",
        headers=bearer(api_token(client, user.email)),
    ).json()
    assert body["certificate"] == new.code and body["is_open"] is False


def test_the_course_page_shows_the_renewal_window(client, session, settings, tmp_path):
    root = write_tree(tmp_path / "c")
    course = import_tree(session, root)[0]
    user = _learner(session, "psychologist")
    complete_course(session, user, course, root)
    cert, _ = certificates.issue_certificate(session, user, course, now=utcnow(), settings=settings)
    session.commit()
    web_login(client, user.email)
    page = client.get(f"/courses/{SLUG}").text
    assert f"Your certificate expires on {cert.expires_at.date()}" in page
    assert "Renewal opens on" in page

    response = client.post(
        f"/courses/{SLUG}/certificate/renewal",
        data={"csrf_token": csrf_token(client, f"/courses/{SLUG}")},
    )
    assert response.status_code == 403
    assert "cannot be renewed yet" in response.text


def test_another_learners_licence_is_not_found(session):
    owner = _learner(session, "psychologist")
    stranger = make_user(session)
    licence = licences.licences_of(session, owner)[0]
    with pytest.raises(LicenceNotFound):
        licences.get_licence(session, stranger, licence.id)
    licences.add_licence(
        session, stranger, LicenceIn(profession="nurse", state="TX", number="RN-1"), now=utcnow()
    )
    with pytest.raises(LicenceChoiceNeeded):
        licences.choose_for_claim(session, stranger, None, today=TODAY)
