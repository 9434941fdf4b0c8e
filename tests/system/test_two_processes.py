"""Two real app processes (as on two hosts) on one database, under concurrent traffic.

Each process has its own LMS_DATA_DIR; they share the signing keys and the token secret the way
docs/deploy.md says: LMS_KEYS_DIR and LMS_TOKEN_SECRET_FILE point at one shared directory."""

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from jose import jws
from sqlmodel import Session, col, select

from app.accounts.models import LoginFailure, User
from app.certificates.keys import KeyStore
from app.core.security import load_or_create_secret
from app.courses.models import Course
from app.quizzes.models import QuizAttempt
from tests.content_helpers import answer_key, complete_course, import_tree, wrong_answers
from tests.factories import PASSWORD
from tests.system.procs import (
    Server,
    app_env,
    make_users,
    remove_committed,
    start_server,
    stop,
    wait_ready,
)

DEMO = Path(__file__).resolve().parents[1] / "data" / "content"
COURSE = "demo-course"
LEARNERS = [f"twohost-learner{n}@example.org" for n in range(4)]
RACER = "twohost-racer@example.org"
GUESSED = "twohost-guessed@example.org"
BURST = "twohost-burst@example.org"
EMAILS = [*LEARNERS, RACER, GUESSED, BURST]
# Throttling also counts per client address; each test claims its own (uvicorn trusts
# X-Forwarded-For from 127.0.0.1), so the suite's other sign-ins from 127.0.0.1 are unaffected.
ADDRESSES = {"guessed": "203.0.113.10", "burst": "203.0.113.11", "other": "203.0.113.12"}
PARALLEL = 12


@dataclass
class Hosts:
    a: Server
    b: Server

    def both(self) -> tuple[Server, Server]:
        return self.a, self.b


@pytest.fixture(scope="module")
def hosts(engine, database_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("two-hosts")
    shared = root / "shared"
    keys_dir, secret_file = shared / "keys", shared / "token-secret.txt"
    # Created once and then shared (docs/deploy.md): the first key and the token secret.
    KeyStore(keys_dir).ensure()
    load_or_create_secret(secret_file)
    empty_content = root / "content"
    empty_content.mkdir()
    remove_committed(engine, emails=EMAILS, course_slugs=[COURSE])
    with Session(engine, expire_on_commit=False) as session:
        course = import_tree(session, DEMO)[0]
        make_users(session, EMAILS)
        session.commit()
    servers = []
    try:
        for name in ("a", "b"):
            env = app_env(
                database_url,
                root / f"host-{name}",
                keys_dir=keys_dir,
                token_secret_file=secret_file,
                content_dir=empty_content,
            )
            servers.append(start_server(env, root / f"host-{name}.log"))
        for server in servers:
            wait_ready(server)
        yield Hosts(*servers)
    finally:
        for server in servers:
            stop(server)
        remove_committed(
            engine,
            emails=EMAILS,
            course_slugs=[course.slug],
            failure_keys=[f"address:{a}" for a in ADDRESSES.values()],
        )


def _parallel(calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _token(server: Server, email: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": email, "password": PASSWORD},
        headers={"X-Forwarded-For": ADDRESSES["other"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_browser_session_made_on_one_process_works_on_the_other_and_sign_out_ends_it(hosts):
    with httpx.Client(base_url=hosts.a.url, timeout=30) as a:
        page = a.get("/signin")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed_in = a.post(
            "/signin",
            data={"email": LEARNERS[0], "password": PASSWORD, "csrf_token": csrf},
            headers={"X-Forwarded-For": ADDRESSES["other"]},
        )
        assert signed_in.status_code == 303, signed_in.text
        cookies = dict(a.cookies)
    assert "lms_session" in cookies

    # A load balancer sends the same browser to either process: both know the session.
    for server in hosts.both():
        with httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as c:
            page = c.get("/dashboard")
            assert page.status_code == 200, (server.url, page.status_code)
            assert "<h1>My learning</h1>" in page.text and 'action="/signout"' in page.text

    with httpx.Client(base_url=hosts.b.url, cookies=cookies, timeout=30) as b:
        out = b.post("/signout", headers={"X-CSRF-Token": cookies["lms_csrf"]})
        assert out.status_code == 303

    # The cookie the browser still holds no longer works on either process.
    for server in hosts.both():
        with httpx.Client(base_url=server.url, cookies=cookies, timeout=30) as c:
            page = c.get("/dashboard")
            assert page.status_code == 303, (server.url, page.status_code)
            assert page.headers["location"].startswith("/signin")


def _guess(server: Server, email: str, address: str, password: str = "wrong " * 4) -> int:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token",
        data={"username": email, "password": password},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) > 0
    return response.status_code


def test_failed_sign_ins_are_counted_across_both_processes(hosts, engine):
    address = ADDRESSES["guessed"]
    # Five wrong passwords, alternating between the processes: each process saw at most three.
    codes = [_guess(hosts.both()[n % 2], GUESSED, address) for n in range(5)]
    assert codes == [401] * 5
    # The sixth try is refused on either process, even with the right password.
    assert _guess(hosts.b, GUESSED, address, PASSWORD) == 429
    assert _guess(hosts.a, GUESSED, address, PASSWORD) == 429

    # A parallel burst on both processes: afterwards the account is throttled everywhere.
    burst_address = ADDRESSES["burst"]
    calls = [(lambda s=hosts.both()[n % 2]: _guess(s, BURST, burst_address)) for n in range(8)]
    codes = _parallel(calls)
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) >= 5, codes  # the limit, not fewer: no failure was lost
    assert _guess(hosts.a, BURST, burst_address, PASSWORD) == 429
    assert _guess(hosts.b, BURST, burst_address, PASSWORD) == 429
    with Session(engine) as session:
        recorded = session.exec(
            select(LoginFailure).where(LoginFailure.key == f"account:{BURST}")
        ).all()
    # Every failure answered 401 was recorded, whichever process answered it.
    assert len(recorded) == codes.count(401)


def test_attempt_limit_holds_when_starts_hit_both_processes_in_parallel(hosts, engine):
    token = _token(hosts.a, RACER)
    headers = {"Authorization": f"Bearer {token}"}
    # An API token from process A is accepted by B (the shared token secret).
    enrolled = httpx.post(
        f"{hosts.b.url}/api/v1/courses/{COURSE}/enrollment", headers=headers, timeout=30
    )
    assert enrolled.status_code == 201, enrolled.text
    key = answer_key(DEMO, COURSE, "intro")

    def start(server: Server):
        r = httpx.post(
            f"{server.url}/api/v1/courses/{COURSE}/modules/intro/attempts",
            headers=headers,
            timeout=30,
        )
        return r.status_code, r.json()

    calls = [(lambda s=hosts.both()[n % 2]: start(s)) for n in range(PARALLEL)]
    for round_ in range(3):  # the demo quiz allows three attempts in its window
        results = _parallel(calls)
        assert {code for code, _ in results} == {201}, results
        ids = {body["attempt_id"] for _, body in results}
        assert len(ids) == 1, f"round {round_}: parallel starts made {len(ids)} attempts"
        body = results[0][1]
        submitted = httpx.post(
            f"{hosts.both()[round_ % 2].url}/api/v1/attempts/{body['attempt_id']}/submission",
            json={"answers": wrong_answers(body["questions"], key)},
            headers=headers,
            timeout=30,
        )
        assert submitted.status_code == 200, submitted.text
    results = _parallel(calls)
    assert {code for code, _ in results} == {429}, results
    with Session(engine) as session:
        attempts = session.exec(
            select(QuizAttempt)
            .join(User, col(User.id) == QuizAttempt.user_id)
            .where(User.email == RACER)
        ).all()
    assert sorted(a.number for a in attempts) == [1, 2, 3]


def test_certificates_issued_on_both_processes_are_unique_and_verify_on_the_other(hosts, engine):
    with Session(engine, expire_on_commit=False) as session:
        course = session.exec(select(Course).where(Course.slug == COURSE)).one()
        for email in LEARNERS:
            user = session.exec(select(User).where(User.email == email)).one()
            complete_course(session, user, course, DEMO)
    tokens = {email: _token(hosts.both()[n % 2], email) for n, email in enumerate(LEARNERS)}

    def claim(server: Server, email: str):
        r = httpx.post(
            f"{server.url}/api/v1/courses/{COURSE}/certificate",
            headers={"Authorization": f"Bearer {tokens[email]}"},
            timeout=30,
        )
        return email, r.status_code, r.json()

    # Every learner claims three times on each process at once.
    calls = [
        (lambda s=server, e=email: claim(s, e))
        for email in LEARNERS
        for server in hosts.both()
        for _ in range(3)
    ]
    results = _parallel(calls)
    codes_by_learner: dict[str, set[str]] = {}
    issued: dict[str, dict] = {}
    for email, status, body in results:
        assert status in (200, 201), body
        codes_by_learner.setdefault(email, set()).add(body["code"])
        issued[email] = body
    assert all(len(codes) == 1 for codes in codes_by_learner.values()), codes_by_learner
    assert sorted(s for _, s, _ in results).count(201) == len(LEARNERS)
    all_codes = [next(iter(c)) for c in codes_by_learner.values()]
    assert len(set(all_codes)) == len(LEARNERS)

    jwks_a = httpx.get(f"{hosts.a.url}/.well-known/jwks.json", timeout=30).json()
    jwks_b = httpx.get(f"{hosts.b.url}/.well-known/jwks.json", timeout=30).json()
    assert jwks_a == jwks_b
    published = {key["kid"] for key in jwks_a["keys"]}
    for n, (_email, body) in enumerate(issued.items()):
        header = jws.get_unverified_header(body["token"])
        assert header["kid"] in published
        # Verified by the process that did not necessarily issue it, and by the other one.
        for server in (hosts.both()[n % 2], hosts.both()[(n + 1) % 2]):
            verdict = httpx.post(
                f"{server.url}/api/v1/verify", json={"token": body["token"]}, timeout=30
            ).json()
            assert verdict["valid"] is True, verdict
            assert verdict["status"] == "valid"
            assert verdict["certificate"]["code"] == body["code"]
