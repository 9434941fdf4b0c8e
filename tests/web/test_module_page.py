"""The module reader: the page is cached per content version and module states, while the
sign-in is checked against the database on every request."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, WebSession
from app.core import deps, fastread
from app.core.clock import utcnow
from app.core.deps import CSRF_COOKIE
from app.courses.models import ModuleVisit
from app.main import create_app
from app.quizzes import grading
from app.quizzes import service as quizzes
from app.web.page_cache import NotInCacheKey, Viewer
from tests.content_helpers import KAT, ROOT, answer_key, correct_answers, import_tree
from tests.factories import csrf_token, make_user, web_login
from tests.system.procs import remove_committed

PAGE = f"/courses/{KAT}/modules/foundations"


@pytest.fixture
def course(session):
    return import_tree(session)[0]


@pytest.fixture
def learner(client, session, course):
    user = make_user(session)
    session.commit()
    web_login(client, user.email)
    token = csrf_token(client, f"/courses/{KAT}")
    assert client.post(f"/courses/{KAT}/enroll", data={"csrf_token": token}).status_code == 200
    return user


def test_sign_out_elsewhere_and_expiry_take_effect_on_the_next_view(client, session, learner):
    assert client.get(PAGE).status_code == 200
    # Another process signs the user out everywhere: the next view goes to sign-in.
    accounts.end_all_web_sessions(session, learner)
    session.commit()
    gone = client.get(PAGE, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/signin")
    web_login(client, learner.email)
    assert client.get(PAGE).status_code == 200
    session.execute(
        update(WebSession)
        .where(col(WebSession.user_id) == learner.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def test_deactivated_user_and_unfinished_two_factor_cannot_read(client, session, learner):
    assert client.get(PAGE).status_code == 200
    session.execute(
        update(WebSession).where(col(WebSession.user_id) == learner.id).values(is_mfa_pending=True)
    )
    session.commit()
    assert client.get(PAGE, follow_redirects=False).status_code == 303
    session.execute(
        update(WebSession).where(col(WebSession.user_id) == learner.id).values(is_mfa_pending=False)
    )
    learner.is_active = False
    session.add(learner)
    session.commit()
    assert client.get(PAGE, follow_redirects=False).status_code == 303


def test_staff_without_required_two_factor_are_sent_to_set_it_up(client, session, course):
    staff = make_user(session, role=Role.instructor)
    accounts.set_site_setting(session, accounts.MFA_REQUIRED_FOR_STAFF, "true")
    session.commit()
    web_login(client, staff.email)
    response = client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/two-factor"


def test_the_page_follows_the_learners_state_after_a_quiz_is_passed(
    client, session, course, learner
):
    before = client.get(PAGE).text
    assert "Quiz not yet passed" in before and "unlocks when you pass this quiz" in before
    started = quizzes.start_attempt(session, learner, course, "foundations", now=utcnow())
    questions = grading.public_questions(started.attempt.snapshot)
    answers = correct_answers(questions, answer_key(ROOT, KAT, "foundations"))
    quizzes.submit_attempt(session, learner, started.attempt.public_id, answers, now=utcnow())
    session.commit()
    after = client.get(PAGE).text
    assert "✓ Passed" in after and "You passed this module's quiz." in after
    assert 'rel="next"' in after and "unlocks when you pass" not in after
    assert client.get(f"/courses/{KAT}/modules/pharmacology").status_code == 200


def test_locked_module_is_403_and_the_error_page_shows_who_is_signed_in(client, learner):
    response = client.get(f"/courses/{KAT}/modules/pharmacology")
    assert response.status_code == 403
    assert "this module is locked: first pass" in response.text
    assert "Sign out" in response.text


def test_every_reader_gets_their_own_csrf_token_and_the_security_headers(
    app, client, session, learner
):
    other = make_user(session)
    session.commit()
    with TestClient(app, raise_server_exceptions=False) as second:
        web_login(second, other.email)
        token = csrf_token(second, f"/courses/{KAT}")
        second.post(f"/courses/{KAT}/enroll", data={"csrf_token": token})
        pages = [c.get(PAGE) for c in (client, second)]
        cookies = [client.cookies[CSRF_COOKIE], second.cookies[CSRF_COOKIE]]
    assert cookies[0] != cookies[1]
    for page, mine, theirs in zip(pages, cookies, reversed(cookies), strict=True):
        assert page.text.count(f'value="{mine}"') == 2  # sign-out form and quiz form
        assert f'content="{mine}"' in page.text and theirs not in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_a_cached_page_cannot_show_user_fields_that_are_not_in_its_key():
    viewer = Viewer(Role.learner)
    assert viewer.role == Role.learner
    with pytest.raises(NotInCacheKey):
        _ = viewer.full_name


def test_production_sessions_read_outside_any_transaction_and_still_see_sign_out(engine, settings):
    """Without the tests' session override: the page's own reads (SQLite: the event loop's
    connection; PostgreSQL: the pool, in autocommit), committed data only."""
    email = "module-page-production@example.org"
    remove_committed(engine, emails=[email], course_slugs=[KAT])
    app = create_app(settings)
    try:
        with Session(engine, expire_on_commit=False) as setup:
            import_tree(setup)
            user = make_user(setup, email=email)
            setup.commit()
        with TestClient(app, raise_server_exceptions=False) as reader:
            web_login(reader, email)
            token = csrf_token(reader, f"/courses/{KAT}")
            reader.post(f"/courses/{KAT}/enroll", data={"csrf_token": token})
            first, again = reader.get(PAGE), reader.get(PAGE)
            assert first.status_code == again.status_code == 200
            assert first.text == again.text and "Quiz not yet passed" in first.text
            locked = reader.get(f"/courses/{KAT}/modules/pharmacology")
            assert locked.status_code == 403 and "Sign out" in locked.text
            with Session(engine) as other_process:
                visits = other_process.exec(
                    select(ModuleVisit).where(ModuleVisit.user_id == user.id)
                ).all()
                assert len(visits) == 1  # the first view noted the visit; the second did not
                accounts.end_all_web_sessions(other_process, user)
                other_process.commit()
            gone = reader.get(PAGE, follow_redirects=False)
            assert gone.status_code == 303
            loop_readers = list(fastread._LOOP_READERS.get(app.state.engine, {}).values())
        if engine.dialect.name == "postgresql":  # read on the loop's connection, closed at shutdown
            assert [r.reads > 0 and r._connection is None for r in loop_readers] == [True]
        loop_connection = deps._LOOP_CONNECTIONS.get(app.state.engine)
        if engine.dialect.name == "sqlite":
            assert loop_connection is not None and not loop_connection.in_transaction()
    finally:
        app.state.engine.dispose()
        remove_committed(engine, emails=[email], course_slugs=[KAT])
