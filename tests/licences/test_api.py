"""/api/v1/me/licences: a learner manages their own licences and only their own."""

from sqlmodel import select

from app.licences.models import Licence
from tests.factories import api_token, bearer, make_user

NEW = {"profession": "nurse", "state": "ny", "number": " RN-777 ", "expires_on": "2028-05-31"}


def test_learner_lists_adds_changes_and_removes_their_licences(client, session):
    user = make_user(session)
    session.commit()
    auth = bearer(api_token(client, user.email))
    seeded = client.get("/api/v1/me/licences", headers=auth).json()
    assert [(x["profession"], x["state"], x["number"]) for x in seeded] == [
        ("social-worker", "CA", "LCSW-12345")  # the licence given at sign-up
    ]
    added = client.post("/api/v1/me/licences", json=NEW, headers=auth)
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["state"] == "NY" and body["number"] == "RN-777"
    assert body["profession_label"] == "Registered Nurse (RN)"
    assert body["expires_on"] == "2028-05-31"
    changed = client.put(
        f"/api/v1/me/licences/{body['id']}",
        json={**NEW, "number": "RN-778", "expires_on": None},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["number"] == "RN-778" and changed.json()["expires_on"] is None
    listed = client.get("/api/v1/me/licences", headers=auth).json()
    assert [x["number"] for x in listed] == ["LCSW-12345", "RN-778"]
    gone = client.delete(f"/api/v1/me/licences/{body['id']}", headers=auth)
    assert gone.status_code == 204
    assert [x["number"] for x in client.get("/api/v1/me/licences", headers=auth).json()] == [
        "LCSW-12345"
    ]


def test_the_same_licence_twice_is_409(client, session):
    user = make_user(session)
    session.commit()
    auth = bearer(api_token(client, user.email))
    assert client.post("/api/v1/me/licences", json=NEW, headers=auth).status_code == 201
    again = client.post("/api/v1/me/licences", json=NEW, headers=auth)
    assert again.status_code == 409
    assert "already have a licence" in again.json()["detail"]


def test_unknown_profession_or_state_is_422_naming_the_field(client, session):
    user = make_user(session)
    session.commit()
    auth = bearer(api_token(client, user.email))
    bad = client.post("/api/v1/me/licences", json={**NEW, "profession": "wizard"}, headers=auth)
    assert bad.status_code == 422 and "profession" in bad.json()["detail"]
    bad = client.post("/api/v1/me/licences", json={**NEW, "state": "ZZ"}, headers=auth)
    assert bad.status_code == 422 and "state" in bad.json()["detail"]


def test_another_learners_licence_is_404_and_stays_unchanged(client, session):
    owner = make_user(session)
    other = make_user(session)
    session.commit()
    theirs = session.exec(select(Licence).where(Licence.user_id == owner.id)).one()
    auth = bearer(api_token(client, other.email))
    url = f"/api/v1/me/licences/{theirs.id}"
    assert client.put(url, json=NEW, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404
    session.refresh(theirs)
    assert (theirs.state, theirs.number) == ("CA", "LCSW-12345")
    numbers = [x["number"] for x in client.get("/api/v1/me/licences", headers=auth).json()]
    assert numbers == ["LCSW-12345"]  # the other learner's own sign-up licence, not the owner's
    assert all(x["id"] != theirs.id for x in client.get("/api/v1/me/licences", headers=auth).json())


def test_licences_need_a_token(client):
    assert client.get("/api/v1/me/licences").status_code == 401


def test_an_id_beyond_any_row_is_404_not_a_driver_error(client, session):
    # Found by schemathesis: 2**63 overflowed SQLite's INTEGER (and 2**31 PostgreSQL's).
    user = make_user(session)
    session.commit()
    headers = bearer(api_token(client, user.email))
    for huge in (2**31, 2**63):
        assert client.delete(f"/api/v1/me/licences/{huge}", headers=headers).status_code == 404
        body = {"profession": "nurse", "state": "TX", "number": "RN-1"}
        put = client.put(f"/api/v1/me/licences/{huge}", headers=headers, json=body)
        assert put.status_code == 404
