import re

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.courses.models import Course
from app.studio.models import StudioPublish
from tests.factories import csrf_token, make_user, web_login

SLUG = "wound-care"
BASE = f"/studio/courses/{SLUG}"
INTRO_BODY = """# Introduction

## Overview

Clean the wound before dressing it.

::: warning
Stop if the wound is infected.
:::

| Dressing | Use |
|----------|-----|
| Foam | Exudate |

Moisture helps healing[^1].

[^1]: Within limits.
"""
DRESSINGS_BODY = "# Dressings\n\n## Choosing a dressing\n\nFoam suits wounds with exudate.\n"


def _login(client, session, role=Role.instructor):
    user = make_user(session, role=role)
    session.commit()
    web_login(client, user.email)
    return user, csrf_token(client, "/account")


@pytest.fixture
def instructor(client, session):
    return _login(client, session)


def _post(client, url, token, **data):
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def _course_fields(client, **changes):
    page = client.get(BASE).text
    form = {}
    for name in (
        "title",
        "audience",
        "ce_hours",
        "delivery_format",
        "provider_name",
        "release_date",
        "last_review_date",
        "expires_on",
        "certificate_validity_months",
    ):
        form[name] = re.search(
            rf'id="{name}" name="{name}" type="[a-z]+" value="([^"]*)"', page
        ).group(1)
    for name in (
        "summary",
        "objectives",
        "authors",
        "accreditation_statement",
        "pass_mark_statement",
    ):
        form[name] = re.search(
            rf'id="{name}" name="{name}" rows="\d+"[^>]*>([^<]*)</textarea>', page
        ).group(1)
    form |= {"instructional_level": "introductory", "status": "draft"}
    return {k: v.replace("&#34;", '"').replace("&#39;", "'") for k, v in form.items()} | changes


def _create(client, token):
    response = _post(client, "/studio/courses", token, slug=SLUG, title="Wound care basics")
    assert response.status_code == 303 and response.headers["location"] == BASE


def _write_course(client, token):
    """Course details, two modules with a quiz each, a final exam question: all in the browser."""
    _create(client, token)
    fields = _course_fields(client, status="published", ce_hours="0.1")
    assert _post(client, BASE, token, **fields).status_code == 303
    intro = {
        "title": "Introduction",
        "objectives": "Clean a wound.",
        "estimated_minutes": "",
        "body": INTRO_BODY,
    }
    assert _post(client, f"{BASE}/modules/introduction", token, **intro).status_code == 303
    added = _post(client, f"{BASE}/modules", token, slug="dressings", title="Dressings")
    assert added.headers["location"] == f"{BASE}/modules/dressings"
    dressings = {"title": "Dressings", "objectives": "Choose a dressing.", "body": DRESSINGS_BODY}
    assert _post(client, f"{BASE}/modules/dressings", token, **dressings).status_code == 303
    question = {
        "index": "0",
        "id": "dressings-1",
        "type": "single",
        "prompt": "Which dressing suits an exuding wound?",
        "option_0_text": "Foam",
        "option_0_correct": "1",
        "option_1_text": "Film",
        "explanation": "Foam absorbs exudate.",
        "reference": "#choosing-a-dressing",
    }
    saved = _post(client, f"{BASE}/quizzes/dressings/questions", token, **question)
    assert saved.status_code == 303, saved.text
    final = {
        "index": "",
        "id": "final-2",
        "type": "numeric",
        "prompt": "How many modules?",
        "answer": "2",
        "tolerance": "0",
        "explanation": "Two.",
        "reference": "dressings#choosing-a-dressing",
    }
    assert _post(client, f"{BASE}/quizzes/final/questions", token, **final).status_code == 303


def test_learner_is_refused_the_studio(client, session):
    _, token = _login(client, session, Role.learner)
    response = client.get("/studio")
    assert response.status_code == 403 and "this needs one of the roles" in response.text
    assert _post(client, "/studio/courses", token, slug=SLUG, title="x").status_code == 403


def test_instructor_writes_and_publishes_and_a_learner_takes_the_course(
    client, app, session, instructor
):
    _, token = instructor
    _write_course(client, token)
    page = client.get(BASE)
    assert "passes the same checks" in page.text, page.text

    with TestClient(app) as learner_client:
        _, learner_token = _login(learner_client, session, Role.learner)
        # Unpublished: the course does not exist for learners.
        assert learner_client.get(f"/courses/{SLUG}").status_code == 404

        assert (
            _post(client, f"{BASE}/publish", token).headers["location"] == f"{BASE}?saved=published"
        )
        assert (
            session.get(
                Course,
                session.exec(
                    __import__("sqlmodel").select(Course.id).where(Course.slug == SLUG)
                ).one(),
            )
            is not None
        )

        assert learner_client.get(f"/courses/{SLUG}").status_code == 200
        assert _post(learner_client, f"/courses/{SLUG}/enroll", learner_token).status_code == 303
        reader = learner_client.get(f"/courses/{SLUG}/modules/introduction")
        assert "callout-warning" in reader.text and "<table" in reader.text
        assert "footnote" in reader.text
        answers = {"introduction": {"q-introduction-1": "true"}}
        for key, data in (*answers.items(), ("dressings", None), ("final", None)):
            url = (
                f"/courses/{SLUG}/final-exam"
                if key == "final"
                else f"/courses/{SLUG}/modules/{key}/quiz"
            )
            started = _post(learner_client, url, learner_token)
            assert started.status_code == 303, started.text
            attempt = learner_client.get(started.headers["location"]).text
            if data is None:
                data = {}
                for qid in re.findall(r'name="q-([^"]+)"', attempt):
                    if qid == "dressings-1":
                        foam = re.search(r'value="([0-9a-f]+)"><label for="[^"]+">Foam<', attempt)
                        data[f"q-{qid}"] = foam.group(1)
                    elif qid == "final-2":
                        data[f"q-{qid}"] = "2"
                    else:
                        data[f"q-{qid}"] = "true"
            result = _post(learner_client, started.headers["location"], learner_token, **data)
            assert result.status_code == 200 and "passed" in result.text, (key, result.text)

        # A later edit stays in the draft until published: learners keep the old text.
        edited = {
            "title": "Introduction",
            "objectives": "Clean a wound.",
            "body": INTRO_BODY.replace("Clean the wound", "Irrigate the wound"),
        }
        assert _post(client, f"{BASE}/modules/introduction", token, **edited).status_code == 303
        reader = learner_client.get(f"/courses/{SLUG}/modules/introduction")
        assert "Clean the wound" in reader.text and "Irrigate" not in reader.text
        assert _post(client, f"{BASE}/publish", token).status_code == 303
        reader = learner_client.get(f"/courses/{SLUG}/modules/introduction")
        assert "Irrigate the wound" in reader.text

    history = client.get(f"{BASE}/modules/introduction/history?old=1&new=2")
    assert history.status_code == 200
    assert "<del>Clean the wound before dressing it.</del>" in history.text
    assert "<ins>Irrigate the wound before dressing it.</ins>" in history.text
    assert '<abbr title="added">+</abbr>' in history.text
    overview = client.get(BASE).text
    assert "Publish history" in overview and overview.count("by Dana Example") == 2
    assert len(session.exec(__import__("sqlmodel").select(StudioPublish)).all()) == 2


def test_validation_error_is_shown_next_to_its_field_and_blocks_publish(
    client, session, instructor
):
    _, token = instructor
    _create(client, token)
    response = _post(client, BASE, token, **_course_fields(client, ce_hours="three"))
    assert response.status_code == 422
    assert re.search(r'id="ce_hours"[^>]*aria-invalid="true"', response.text)
    assert re.search(
        r'id="ce_hours-error"><p class="field-error">ce_hours: [^<]*number', response.text
    )
    published = _post(client, f"{BASE}/publish", token)
    assert published.status_code == 422 and "nothing was published" in published.text
    assert (
        session.exec(__import__("sqlmodel").select(Course).where(Course.slug == SLUG)).first()
        is None
    )


def test_question_error_is_shown_next_to_its_field(client, instructor):
    _, token = instructor
    _create(client, token)
    question = {
        "index": "0",
        "id": "introduction-1",
        "type": "single",
        "prompt": "Pick",
        "option_0_text": "A",
        "option_1_text": "B",
        "explanation": "Because.",
        "reference": "#overview",
    }
    response = _post(client, f"{BASE}/quizzes/introduction/questions", token, **question)
    assert response.status_code == 422
    assert 'id="options-error"' in response.text and "exactly one correct option" in response.text
    assert 'id="reference-error"' not in response.text


def test_new_module_slug_error_is_shown_next_to_the_field(client, instructor):
    _, token = instructor
    _create(client, token)
    response = _post(client, f"{BASE}/modules", token, slug="Bad Slug", title="Bad")
    assert response.status_code == 422 and 'id="slug-error"' in response.text


def test_another_instructors_course_is_404(client, app, session, instructor):
    _, token = instructor
    _create(client, token)
    with TestClient(app) as other:
        _, other_token = _login(other, session)
        assert BASE not in other.get("/studio").text
        for url in (
            BASE,
            f"{BASE}/modules/introduction",
            f"{BASE}/quizzes/final",
            f"{BASE}/source?path=courses/{SLUG}/course.yaml",
        ):
            assert other.get(url).status_code == 404, url
        assert _post(other, f"{BASE}/publish", other_token).status_code == 404
        assert _post(other, f"{BASE}/preview", other_token, body="x").status_code == 404
    admin_client = TestClient(app)
    _login(admin_client, session, Role.admin)
    assert admin_client.get(BASE).status_code == 200


def test_preview_uses_the_learners_renderer_and_sanitizer(client, instructor):
    _, token = instructor
    _create(client, token)
    body = INTRO_BODY + "\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n"
    response = client.post(
        f"{BASE}/preview",
        data={"body": body},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert "<html" not in response.text  # a fragment
    assert "callout-warning" in response.text and "<table>" in response.text
    assert 'class="footnote' in response.text
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert 'href="javascript' not in response.text
    editor = client.get(f"{BASE}/modules/introduction").text
    assert 'hx-post="/studio/courses/wound-care/preview"' in editor
    assert 'hx-trigger="keyup changed delay:500ms"' in editor


def test_source_editor_and_reorder(client, instructor):
    _, token = instructor
    _create(client, token)
    _post(client, f"{BASE}/modules", token, slug="dressings", title="Dressings")
    moved = _post(client, f"{BASE}/modules/dressings/move", token, direction="up")
    assert moved.status_code == 303
    page = client.get(BASE).text
    assert page.index("02-dressings.md") < page.index("01-introduction.md")
    path = f"courses/{SLUG}/references.bib"
    assert client.get(f"{BASE}/source", params={"path": path}).status_code == 200
    bib = "@article{Smith2020,\n  title={Wounds},\n  doi={10.1000/x}\n}\n"
    saved = _post(client, f"{BASE}/source", token, path=path, text=bib)
    assert saved.status_code == 422 and "never cited" in saved.text
    assert client.get(f"{BASE}/source", params={"path": "../../etc/passwd"}).status_code == 404
