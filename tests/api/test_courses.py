import json

import pytest

from app.courses.models import CourseStatus
from tests.content_helpers import KAT, ROOT, answer_key, correct_answers, import_tree, wrong_answers
from tests.factories import api_token, bearer, make_user

MODULES = [
    "foundations",
    "pharmacology",
    "safety-screening",
    "ethics-consent",
    "session-support-integration",
    "law-regulation",
]


@pytest.fixture
def course(session):
    return import_tree(session)[0]


@pytest.fixture
def learner(client, session):
    user = make_user(session)
    session.commit()
    return bearer(api_token(client, user.email))


def test_catalog_lists_published_courses_only(client, session, course, learner):
    listing = client.get("/api/v1/courses", headers=learner).json()
    assert [c["slug"] for c in listing] == [KAT]
    assert listing[0]["module_count"] == 6
    assert set(listing[0]) >= {"slug", "title", "summary", "ce_hours", "version", "module_count"}
    course.status = CourseStatus.draft
    session.add(course)
    session.commit()
    assert client.get("/api/v1/courses", headers=learner).json() == []
    assert client.get(f"/api/v1/courses/{KAT}", headers=learner).status_code == 404


def test_catalog_search(client, course, learner):
    assert len(client.get("/api/v1/courses?q=ketamine", headers=learner).json()) == 1
    assert client.get("/api/v1/courses?q=orthopaedics", headers=learner).json() == []


def test_course_detail_states_before_and_after_enrolment(client, course, learner):
    detail = client.get(f"/api/v1/courses/{KAT}", headers=learner).json()
    assert detail["enrolled"] is False
    assert [m["slug"] for m in detail["modules"]] == MODULES
    assert {m["state"] for m in detail["modules"]} == {"locked"}
    assert detail["final_exam"] == {"state": "locked"}
    assert detail["evaluation"] == {"state": "locked"}
    assert detail["certificate"] is None
    first = client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    assert first.status_code == 201
    assert client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner).status_code == 200
    detail = client.get(f"/api/v1/courses/{KAT}", headers=learner).json()
    assert detail["enrolled"] is True
    assert [m["state"] for m in detail["modules"]] == ["available"] + ["locked"] * 5


def test_module_content_is_gated(client, course, learner):
    assert (
        client.get(f"/api/v1/courses/{KAT}/modules/foundations", headers=learner).status_code == 403
    )
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    module = client.get(f"/api/v1/courses/{KAT}/modules/foundations", headers=learner)
    assert module.status_code == 200
    body = module.json()
    assert body["slug"] == "foundations"
    assert "<h1" in body["html"] and "References" in body["html"]
    assert body["toc"] and {"id", "title"} <= set(body["toc"][0])
    locked = client.get(f"/api/v1/courses/{KAT}/modules/pharmacology", headers=learner)
    assert locked.status_code == 403
    assert "first pass" in locked.json()["detail"]
    assert client.get(f"/api/v1/courses/{KAT}/modules/nope", headers=learner).status_code == 404


def _start(client, headers, module):
    response = client.post(f"/api/v1/courses/{KAT}/modules/{module}/attempts", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_attempt_response_carries_no_answer_key(client, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    attempt = _start(client, learner, "foundations")
    assert len(attempt["questions"]) == 10
    raw = json.dumps(attempt)
    key = answer_key(ROOT, KAT, "foundations")
    for q in attempt["questions"]:
        assert set(q) == {"id", "type", "prompt", "options"}
        for option in q["options"]:
            assert set(option) == {"id", "text"}
        authored = key[q["id"]]
        assert authored["explanation"].strip()[:60] not in raw
    for word in ('"correct"', '"explanation"', '"reference"', '"answer"', '"tolerance"', '"score"'):
        assert word not in raw


def test_pass_unlocks_next_and_second_submission_is_409(client, session, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    key = answer_key(ROOT, KAT, "foundations")
    attempt = _start(client, learner, "foundations")
    url = f"/api/v1/attempts/{attempt['attempt_id']}/submission"
    result = client.post(
        url, headers=learner, json={"answers": correct_answers(attempt["questions"], key)}
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["passed"] is True and body["score"] == 1.0 and body["pass_mark"] == 0.8
    assert len(body["results"]) == 10
    assert all(r["correct"] and r["explanation"] for r in body["results"])
    again = client.post(
        url, headers=learner, json={"answers": wrong_answers(attempt["questions"], key)}
    )
    assert again.status_code == 409
    detail = client.get(f"/api/v1/courses/{KAT}", headers=learner).json()
    assert [m["state"] for m in detail["modules"][:2]] == ["passed", "available"]


def test_failing_then_limit_then_429_with_retry_after(client, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    key = answer_key(ROOT, KAT, "foundations")
    for _ in range(3):
        attempt = _start(client, learner, "foundations")
        result = client.post(
            f"/api/v1/attempts/{attempt['attempt_id']}/submission",
            headers=learner,
            json={"answers": wrong_answers(attempt["questions"], key)},
        ).json()
        assert result["passed"] is False and result["score"] == 0.0
        # reveal: after_pass -> no correct options on a failed attempt
        assert all(r["correct_options"] is None for r in result["results"])
    blocked = client.post(f"/api/v1/courses/{KAT}/modules/foundations/attempts", headers=learner)
    assert blocked.status_code == 429
    assert blocked.json()["retry_after"] > 23 * 3600
    assert "next attempt opens" in blocked.json()["detail"]


def test_an_open_attempt_is_resumed_not_duplicated(client, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    first = _start(client, learner, "foundations")
    second = _start(client, learner, "foundations")
    assert first["attempt_id"] == second["attempt_id"]
    assert first["questions"] == second["questions"]


def test_bad_answers_are_422(client, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    attempt = _start(client, learner, "foundations")
    url = f"/api/v1/attempts/{attempt['attempt_id']}/submission"
    assert (
        client.post(url, headers=learner, json={"answers": {"no-such-question": [1]}}).status_code
        == 422
    )
    assert (
        client.post(url, headers=learner, json={"answers": {"no-such-question": ["x"]}}).status_code
        == 422
    )
    assert client.post(url, headers=learner, json={"nope": 1}).status_code == 422
    # nothing was graded: the real submission still works
    key = answer_key(ROOT, KAT, "foundations")
    ok = client.post(
        url, headers=learner, json={"answers": correct_answers(attempt["questions"], key)}
    )
    assert ok.status_code == 200


def test_someone_elses_attempt_is_404(client, session, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    attempt = _start(client, learner, "foundations")
    other = make_user(session)
    session.commit()
    headers = bearer(api_token(client, other.email))
    response = client.post(
        f"/api/v1/attempts/{attempt['attempt_id']}/submission",
        headers=headers,
        json={"answers": {}},
    )
    assert response.status_code == 404


def test_final_exam_is_locked_until_every_module_passes(client, course, learner):
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    response = client.post(f"/api/v1/courses/{KAT}/final-exam/attempts", headers=learner)
    assert response.status_code == 403
    assert "every module" in response.json()["detail"]
    assert (
        client.post(
            f"/api/v1/courses/{KAT}/modules/pharmacology/attempts", headers=learner
        ).status_code
        == 403
    )


def test_a_learner_completes_the_course_through_the_api(client, course, learner):
    """End to end with the authored answer keys: every module, the final exam, the evaluation."""
    client.post(f"/api/v1/courses/{KAT}/enrollment", headers=learner)
    for module in MODULES:
        assert (
            client.get(f"/api/v1/courses/{KAT}/modules/{module}", headers=learner).status_code
            == 200
        )
        attempt = _start(client, learner, module)
        answers = correct_answers(attempt["questions"], answer_key(ROOT, KAT, module))
        result = client.post(
            f"/api/v1/attempts/{attempt['attempt_id']}/submission",
            headers=learner,
            json={"answers": answers},
        ).json()
        assert result["passed"], (module, result)
    final = client.post(f"/api/v1/courses/{KAT}/final-exam/attempts", headers=learner)
    assert final.status_code == 201
    questions = final.json()["questions"]
    assert len(questions) == 25
    answers = correct_answers(questions, answer_key(ROOT, KAT, "final"))
    result = client.post(
        f"/api/v1/attempts/{final.json()['attempt_id']}/submission",
        headers=learner,
        json={"answers": answers},
    ).json()
    assert result["passed"] and result["pass_mark"] == 0.75
    evaluation = client.get(f"/api/v1/courses/{KAT}/evaluation", headers=learner).json()
    answers = {
        q["id"]: (4 if q["type"] == "likert" else "Clear and useful.")
        for q in evaluation["questions"]
    }
    assert (
        client.post(
            f"/api/v1/courses/{KAT}/evaluation",
            headers=learner,
            json={"answers": {"objectives-met": 4}},
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/courses/{KAT}/evaluation", headers=learner, json={"answers": answers}
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/courses/{KAT}/evaluation", headers=learner, json={"answers": answers}
        ).status_code
        == 409
    )
    detail = client.get(f"/api/v1/courses/{KAT}", headers=learner).json()
    assert {m["state"] for m in detail["modules"]} == {"passed"}
    assert detail["final_exam"]["state"] == "passed"
    assert detail["evaluation"]["state"] == "submitted"
