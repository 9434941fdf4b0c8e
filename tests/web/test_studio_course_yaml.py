"""The studio's pages for the rest of course.yaml, used as a browser without JavaScript uses
them: the forms' own fields, submitted as rendered."""

import dataclasses
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from app.accounts.models import Role
from app.core.clock import utcnow
from app.studio import service as studio
from app.studio.models import StudioDraft
from tests.content_helpers import import_tree
from tests.factories import csrf_token, make_user, web_login

DATA = Path(__file__).resolve().parents[1] / "data" / "content"
SLUG = "demo-course"
BASE = f"/studio/courses/{SLUG}"
YAML = f"courses/{SLUG}/course.yaml"
APPROVAL = """credit_basis: "0.15 hours: about 6 minutes of reading and 3 quiz questions."
approvals:
  - id: apa-home-study
    body: APA
    number: "APA-0000"
    statement: Approved by the American Psychological Association.
    credit_type: CE credits
    credit_amount: 0.15
    professions: [psychologist, counselor]
    valid_from: 2026-01-01
    valid_until: 2030-12-31
    cebroker:
      provider_tracking_number: "50-0000"
      profession_codes: {counselor: "CN"}
"""


class _Forms(HTMLParser):
    """What a browser submits for each form on a page: inputs with their values, ticked boxes,
    textareas and each select's chosen option, by the form's action."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._fields: dict[str, str] | None = None
        self._text: str | None = None  # the textarea being read
        self._select: str | None = None
        self._option: tuple[str | None, bool, str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name") or ""
        if tag == "form":
            self._fields = {}
            self.forms.append((a.get("action") or "", self._fields))
        elif self._fields is None:
            return
        elif tag == "input" and name:
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                self._fields[name] = a.get("value") or ""
        elif tag == "textarea":
            self._text = name
            self._fields[name] = ""
        elif tag == "select":
            self._select = name
        elif tag == "option":
            self._option = (a.get("value"), "selected" in a, "")

    def handle_data(self, data: str) -> None:
        if self._text is not None and self._fields is not None:
            self._fields[self._text] += data
        elif self._option is not None:
            value, selected, text = self._option
            self._option = (value, selected, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "textarea":
            self._text = None
        elif tag == "option" and self._option is not None and self._select and self._fields:
            value, selected, text = self._option
            if selected or self._select not in self._fields:
                self._fields[self._select] = text if value is None else value
            self._option = None
        elif tag == "select":
            self._select = None


def _form(html: str, action: str) -> dict[str, str]:
    found = [fields for where, fields in _Forms(html).forms if where == action]
    assert len(found) == 1, f"{len(found)} forms post to {action}"
    return dict(found[0])


@pytest.fixture
def admin(client, session, settings):
    """An admin's browser, the demo course imported (its images in the content folder)."""
    shutil.copytree(DATA, settings.content_dir)
    import_tree(session, DATA)
    user = make_user(session, role=Role.admin)
    session.commit()
    web_login(client, user.email)
    return user, csrf_token(client, "/account")


def _post(client, url, data):
    return client.post(url, data=data, follow_redirects=False)


def _draft(session, user) -> StudioDraft:
    return studio.get_draft(session, user, SLUG, now=utcnow())


def _spec(session, user, settings):
    check = studio.check_draft(
        _draft(session, user), today=utcnow().date(), assets=settings.content_dir / "courses" / SLUG
    )
    assert check.errors == [], [str(p) for p in check.errors]
    data = dataclasses.asdict(check.spec)
    data.pop("course_yaml_source")
    return data


def _set_course_yaml(client, token, text, status=303):
    saved = _post(client, f"{BASE}/source", {"csrf_token": token, "path": YAML, "text": text})
    assert saved.status_code == status, saved.text


def test_every_form_submitted_unchanged_leaves_the_parsed_course_identical(
    client, session, settings, admin
):
    user, token = admin
    text = client.get(f"{BASE}/source", params={"path": YAML}).text
    source = _form(text, f"{BASE}/source")["text"]
    _set_course_yaml(client, token, source + APPROVAL)
    before = _spec(session, user, settings)

    page = client.get(BASE).text
    for action in (BASE, f"{BASE}/prerequisites"):
        saved = _post(client, action, _form(page, action))
        assert saved.status_code == 303, (action, saved.text)
    for key, count in (("evaluation", 2), ("approvals", 1)):
        for index in range(count):
            editor = client.get(f"{BASE}/{key}", params={"index": index}).text
            saved = _post(client, f"{BASE}/{key}", _form(editor, f"{BASE}/{key}"))
            assert saved.status_code == 303, (key, index, saved.text)

    assert _spec(session, user, settings) == before
    written = yaml.safe_load(_draft(session, user).files[YAML])
    assert written["approvals"][0]["cebroker"]["profession_codes"] == {"counselor": "CN"}
    assert written["modules"][1]["prerequisites"] == ["intro"]


def test_evaluation_question_editor_adds_and_shows_errors_next_to_fields(client, admin):
    _, token = admin
    page = client.get(BASE).text
    assert 'href="/studio/courses/demo-course/evaluation?index=1"' in page
    new = client.get(f"{BASE}/evaluation").text
    form = _form(new, f"{BASE}/evaluation")
    assert form == {
        "csrf_token": token,
        "index": "",
        "id": "",
        "type": "likert",
        "prompt": "",
        "required": "1",
    }

    bad = form | {"id": "comments", "prompt": "Was it useful?"}
    response = _post(client, f"{BASE}/evaluation", bad)
    assert response.status_code == 422
    assert re.search(
        r'id="id"[^>]*aria-describedby="id-help id-error"[^>]*aria-invalid="true"', response.text
    )
    assert re.search(
        r'id="id-error"><p class="field-error">duplicate evaluation id &#39;comments&#39;',
        response.text,
    )
    assert 'name="index" value="2"' in response.text  # the saved question is fixed in place

    fixed = _form(response.text, f"{BASE}/evaluation") | {"id": "useful"}
    assert _post(client, f"{BASE}/evaluation", fixed).headers["location"] == (
        f"{BASE}?saved=evaluation#evaluation"
    )
    moved = _post(
        client, f"{BASE}/evaluation/move", {"csrf_token": token, "index": "2", "direction": "up"}
    )
    assert moved.status_code == 303
    page = client.get(BASE).text
    assert page.index("<strong>useful</strong>") < page.index("<strong>comments</strong>")
    removed = _post(client, f"{BASE}/evaluation/remove", {"csrf_token": token, "index": "1"})
    assert removed.status_code == 303 and "<strong>useful</strong>" not in client.get(BASE).text
    assert client.get(f"{BASE}/evaluation", params={"index": 9}).status_code == 404


def test_prerequisites_form_saves_and_shows_the_checks_error(client, session, admin):
    user, token = admin
    page = client.get(BASE).text
    form = _form(page, f"{BASE}/prerequisites")
    # The first module has nothing to choose; the second lists the first, ticked.
    assert form == {"csrf_token": token, "prerequisites:next": "chosen", "requires:next:intro": "1"}
    assert 'for="prereq-2-default">Requires the previous module, Introduction (the default)' in page

    saved = _post(client, f"{BASE}/prerequisites", form | {"prerequisites:next": "none"})
    assert saved.headers["location"] == f"{BASE}?saved=prerequisites#prerequisites"
    assert "prerequisites: []" in _draft(session, user).files[YAML]

    text = _draft(session, user).files[YAML].replace("prerequisites: []", "prerequisites: [nope]")
    _set_course_yaml(client, token, text, 422)  # saved, with the check's error
    page = client.get(BASE).text
    form = _form(page, f"{BASE}/prerequisites")
    assert form["requires:next:nope"] == "1"
    response = _post(client, f"{BASE}/prerequisites", form)
    assert response.status_code == 422
    assert re.search(
        r'<fieldset class="question" aria-describedby="prereq-2-error">', response.text
    )
    assert "prerequisite &#39;nope&#39; is not a module" in response.text
    response = _post(client, f"{BASE}/prerequisites", form | {"prerequisites:next": "default"})
    assert response.status_code == 303
    assert "prerequisites" not in yaml.safe_load(_draft(session, user).files[YAML])["modules"][1]


def test_approval_editor_shows_accreditation_rule_errors_next_to_fields(
    client, session, settings, admin
):
    user, token = admin
    page = client.get(BASE).text
    assert "No approvals" in page and 'href="/studio/courses/demo-course/approvals"' in page
    new = client.get(f"{BASE}/approvals").text
    assert new.count('type="checkbox"') == 8 and "<legend>Professions covered</legend>" in new
    form = _form(new, f"{BASE}/approvals") | {
        "id": "apa-2027",
        "number": "1",
        "statement": "Approved.",
        "credit_type": "CE credits",
        "credit_amount": "0.15",
        "profession:psychologist": "1",
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
        "min_pass_mark": "0.9",
    }
    response = _post(client, f"{BASE}/approvals", form)
    assert response.status_code == 422
    assert re.search(r'id="min_pass_mark"[^>]*aria-invalid="true"', response.text)
    assert re.search(
        r'id="min_pass_mark-error"><p class="field-error">accreditation rule: the final exam&#39;s '
        r"pass mark 80% is under the 90% minimum",
        response.text,
    )
    assert (
        'id="item-error"' in response.text
        and "needs the course&#39;s credit_basis" in response.text
    )

    # The credit basis is fixed in the details form, where the rule's message also shows.
    page = client.get(BASE).text
    assert re.search(r'id="credit_basis-error"><p class="field-error">accreditation rule', page)
    details = _form(page, BASE) | {"credit_basis": "Seat time: 9 minutes."}
    assert _post(client, BASE, details).status_code == 303
    fixed = _form(response.text, f"{BASE}/approvals") | {"min_pass_mark": ""}
    assert _post(client, f"{BASE}/approvals", fixed).status_code == 303
    assert [a["id"] for a in _spec(session, user, settings)["approvals"]] == ["apa-2027"]
    removed = _post(client, f"{BASE}/approvals/remove", {"csrf_token": token, "index": "0"})
    assert removed.headers["location"] == f"{BASE}?saved=approval-removed#approvals"
    assert "approvals" not in yaml.safe_load(_draft(session, user).files[YAML])


def test_closing_page_editor_creates_previews_and_removes(client, session, admin):
    user, token = admin
    page = client.get(BASE).text
    assert 'href="/studio/courses/demo-course/closing">Add a closing page' in page
    editor = client.get(f"{BASE}/closing")
    assert editor.status_code == 200 and "saving creates <code>closing.md</code>" in editor.text
    assert 'hx-post="/studio/courses/demo-course/preview"' in editor.text
    form = _form(editor.text, f"{BASE}/closing")
    body = "# Closing\n\n::: note\nThank you.\n:::\n"
    saved = _post(client, f"{BASE}/closing", form | {"title": "Closing", "body": body})
    assert saved.headers["location"] == f"{BASE}/closing?saved=closing"
    shown = client.get(saved.headers["location"]).text
    assert "Closing page saved." in shown and "callout-note" in shown
    assert yaml.safe_load(_draft(session, user).files[YAML])["closing"] == "closing.md"

    response = _post(client, f"{BASE}/closing", form | {"title": "", "body": body})
    assert response.status_code == 422 and 'id="title-error"' in response.text
    removed = _post(client, f"{BASE}/closing/remove", {"csrf_token": token})
    assert removed.headers["location"] == f"{BASE}?saved=closing-removed#closing"
    assert f"courses/{SLUG}/closing.md" not in _draft(session, user).files
