"""/account/licences: no-JS forms with labels, errors next to fields, CSRF, own licences only."""

import re

from sqlmodel import select

from app.licences.models import Licence
from tests.factories import csrf_token, make_user, web_login

PAGE = "/account/licences"


def _signed_in(client, session):
    user = make_user(session)
    session.commit()
    web_login(client, user.email)
    return user


def _licence(session, user, number="LCSW-12345"):
    return session.exec(
        select(Licence).where(Licence.user_id == user.id, Licence.number == number)
    ).one()


def test_account_page_links_to_licences_data_and_deletion(client, session):
    _signed_in(client, session)
    page = client.get("/account")
    for href in ("/account/licences", "/account/data.json", "/account/delete"):
        assert f'href="{href}"' in page.text


def test_page_lists_licences_with_an_accessible_add_form(client, session):
    _signed_in(client, session)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "LCSW-12345" in page.text and "Clinical Social Worker (LCSW)" in page.text
    for field in ("profession", "state", "number", "expires_on"):
        assert f'<label for="{field}"' in page.text
    assert '<option value="nurse">Registered Nurse (RN)</option>' in page.text
    assert "<option>NY</option>" in page.text
    assert 'name="csrf_token"' in page.text


def test_add_then_edit_then_remove_through_the_forms(client, session):
    user = _signed_in(client, session)
    token = csrf_token(client, PAGE)
    form = {"profession": "mft", "state": "OR", "number": "MFT-9", "expires_on": "2027-12-31"}
    added = client.post(PAGE, data={**form, "csrf_token": token}, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == f"{PAGE}?saved=added"
    listing = client.get(added.headers["location"])
    assert "Licence added." in listing.text and "MFT-9" in listing.text
    licence = _licence(session, user, "MFT-9")
    edit = client.get(f"{PAGE}/{licence.id}/edit")
    assert edit.status_code == 200
    assert 'value="MFT-9"' in edit.text and 'value="2027-12-31"' in edit.text
    assert (
        '<option value="mft" selected>' in edit.text and "<option selected>OR</option>" in edit.text
    )
    saved = client.post(
        f"{PAGE}/{licence.id}",
        data={**form, "number": "MFT-10", "expires_on": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(licence)
    assert licence.number == "MFT-10" and licence.expires_on is None
    removed = client.post(
        f"{PAGE}/{licence.id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "MFT-10" not in client.get(PAGE).text
    assert session.get(Licence, licence.id) is None


def test_errors_are_shown_next_to_each_field_and_input_is_kept(client, session):
    _signed_in(client, session)
    token = csrf_token(client, PAGE)
    bad = client.post(
        PAGE,
        data={
            "profession": "wizard",
            "state": "ZZ",
            "number": "",
            "expires_on": "",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 422
    for field in ("profession", "state", "number"):
        assert f'id="{field}-error"' in bad.text
        assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', bad.text)
    assert "enter the licence number" in bad.text
    empty = client.post(
        PAGE,
        data={
            "profession": "",
            "state": "",
            "number": "RN-1",
            "expires_on": "31/12/2028",
            "csrf_token": token,
        },
    )
    assert empty.status_code == 422
    assert "choose the profession this licence is for" in empty.text
    assert "choose the state or territory" in empty.text
    assert 'id="expires_on-error"' in empty.text and "such as 2028-12-31" in empty.text
    assert 'value="RN-1"' in empty.text
    duplicate = client.post(
        PAGE,
        data={
            "profession": "social-worker",
            "state": "CA",
            "number": "LCSW-12345",
            "expires_on": "",
            "csrf_token": token,
        },
    )
    assert duplicate.status_code == 409
    assert 'id="number-error"' in duplicate.text and "already have a licence" in duplicate.text
    assert 'value="LCSW-12345"' in duplicate.text


def test_forms_need_the_csrf_token(client, session):
    user = _signed_in(client, session)
    form = {"profession": "mft", "state": "OR", "number": "MFT-9", "expires_on": ""}
    assert client.post(PAGE, data=form).status_code == 403
    licence = _licence(session, user)
    assert client.post(f"{PAGE}/{licence.id}/remove").status_code == 403
    assert session.get(Licence, licence.id) is not None


def test_another_learners_licence_pages_are_404(client, session):
    owner = make_user(session)
    session.commit()
    theirs = _licence(session, owner)
    _signed_in(client, session)
    token = csrf_token(client, PAGE)
    assert client.get(f"{PAGE}/{theirs.id}/edit").status_code == 404
    form = {
        "profession": "mft",
        "state": "OR",
        "number": "X",
        "expires_on": "",
        "csrf_token": token,
    }
    assert client.post(f"{PAGE}/{theirs.id}", data=form).status_code == 404
    assert client.post(f"{PAGE}/{theirs.id}/remove", data={"csrf_token": token}).status_code == 404
    session.refresh(theirs)
    assert theirs.number == "LCSW-12345"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
