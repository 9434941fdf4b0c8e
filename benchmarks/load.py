# ruff: noqa: S603  (runs uvicorn with this interpreter)
"""Load test: a realistic learner mix against 1 and 2 app processes, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/load.py [--db sqlite,postgres] [--procs 1,2] [--seconds N]
        [--rounds R] [--concurrency C] [--learners L] [--mode workers|ports] [--json out.json]
        [--sign-in mint|api] [--asgi module:app]

Per database: a fresh database (a SQLite file, or PostgreSQL ``lms_load`` recreated and dropped
with ``runuser -u postgres -- psql`` as root, like benchmarks/module_page.py), migrations, the
shipped course, ``--learners`` enrolled learners per segment and 100 certificate holders (who
finished the course through the services and were issued a certificate). Then, ``--rounds``
times, each process count in turn (1, 2, 1, 2: drift on a shared machine hits both) gets fresh
servers on a shared ``LMS_DATA_DIR``: N single-process ``uvicorn app.asgi:app`` on N ports, the
client spreading its connections round-robin (``--mode workers``: one ``uvicorn --workers N``;
there one worker tends to accept nearly every keep-alive connection, see docs/performance.md),
and the asyncio keep-alive client of module_page.py runs the mix on C connections for a fixed
time. One loop of a learner:

    GET  /api/v1/courses/{slug}/modules/{m}          read the module
    POST /api/v1/courses/{slug}/modules/{m}/attempts  start its quiz
    POST /api/v1/attempts/{id}/submission             submit (authored key, ~85 % right per item)
    GET  /api/v1/courses/{slug}                       dashboard data (progress)
    POST /api/v1/verify                               verify a certificate token

A learner takes the modules in order (they are gated), retrying failed quizzes, then reviews
passed modules and retakes their quizzes; it never goes past 3 attempts per quiz (the limit), so
no step answers 429: the pool hands out fresh learners instead. Sign-in is not part of the mix:
each segment's learners get bearer tokens minted with the servers' token secret just before it
(``--sign-in api``: from ``POST /api/v1/auth/token`` before the first segment, Argon2 on the
server, ~10 minutes more). After the mix, ``POST /api/v1/verify/batch`` with 100 tokens is
timed alone (``--batch-calls``, sequential).

CPU comes from /proc: each server process, this client, the PostgreSQL backends of the
database, and "others" (everything else the machine ran: on a shared machine, other people's
jobs). On PostgreSQL a thread samples pg_stat_activity every 0.1 s and reports how many
backends, on average, were running, waiting on a lock (naming the statement) or idle in a
transaction (see WaitSampler).

Prints per-step counts, errors and p50/p95/p99, throughput, CPU, and the targets: 2 processes
>= 1.6x the requests/s of 1 on PostgreSQL, batch of 100 p95 < 100 ms, submission p99 < 10x
p50. Exit 0 when no request failed (targets are reported, not enforced), 1 on any error, 2
when set-up fails.
"""

import argparse
import asyncio
import functools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import module_page as mp  # noqa: E402  (the client, PostgreSQL and /proc helpers)

DEFAULT_PG_URL = "postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/lms_load"
COURSE = "ketamine-assisted-therapy"
PASSWORD = "correct battery staple horse lamp"  # noqa: S105 (throwaway load-test learners)
BASE_URL = "http://127.0.0.1:8000"  # in the signed credentials; the same for every server
HOLDERS = 100
MAX_ATTEMPTS = 3
ITEM_RIGHT = 0.85  # chance a learner answers one question right (~80 % of attempts pass)
STEPS = ("module", "start", "submit", "dashboard", "verify")
SCALING_TARGET = 1.6
BATCH_TARGET_MS = 100.0
SUBMIT_TAIL_TARGET = 10.0


# --- data ----------------------------------------------------------------------------------


@dataclass
class Prepared:
    emails: list[str]
    uuids: list[str]  # the learners' subjects, for minted bearer tokens (--sign-in mint)
    cert_tokens: list[str]
    modules: list[str]
    seconds: float
    pg_database: str = ""


def swap(module: Any, name: str, value: Any) -> Any:
    """Replaces a module attribute in this (preparing) process only; returns the old one."""
    old = getattr(module, name)
    setattr(module, name, value)
    return old


def prepare(database_url: str, data_dir: Path, learners: int, holders: int) -> Prepared:
    """Migrations, the shipped course, enrolled learners and certificate holders (services)."""
    from sqlmodel import Session

    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.accounts.schemas import RegisterIn
    from app.certificates import service as certificates
    from app.core.db import make_engine, upgrade_to_head
    from app.core.security import hash_password, load_or_create_secret
    from app.core.settings import Settings
    from app.courses import service as courses
    from tests import content_helpers

    began = time.perf_counter()
    settings = Settings(
        data_dir=data_dir, database_url=database_url, content_dir=ROOT, base_url=BASE_URL
    )
    settings.ensure_data_dir()
    load_or_create_secret(settings.token_secret_path)  # before 2 workers could race for it
    certificates.ensure_keys(settings)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    now = datetime.now(UTC)

    # Argon2id costs ~0.16 s per hash: every account gets the same (valid, salted) hash of the
    # same password, made once. Sign-in still runs the full Argon2 check on the server.
    one_hash = hash_password(PASSWORD)
    real_hash = swap(accounts, "hash_password", lambda _password: one_hash)
    # complete_course parses the quiz YAML on every call (0.1 s each): parse each file once.
    real_key = swap(content_helpers, "answer_key", functools.lru_cache(content_helpers.answer_key))

    def new_user(session: Session, kind: str, n: int) -> Any:
        return accounts.create_user(
            session,
            RegisterIn(
                email=f"load-{kind}-{n:05d}@example.org",
                password=PASSWORD,
                full_name=f"Load {kind.title()} {n:05d}",
                profession="Clinical Social Worker (LCSW)",
                license_number="LCSW-12345",
                license_state="CA",
            ),
            role=Role.learner,
            now=now,
            settings=settings,
        )

    try:
        with Session(engine, expire_on_commit=False) as session:
            course = next(c for c in content_helpers.import_tree(session) if c.slug == COURSE)
            modules = [m.slug for m, _ in courses.active_modules(session, course)]
            emails, uuids = [], []
            for n in range(learners):
                user = new_user(session, "learner", n)
                courses.enroll(session, user, course, now=now)
                emails.append(user.email)
                uuids.append(user.uuid)
            session.commit()
            tokens = []
            for n in range(holders):
                user = new_user(session, "holder", n)
                content_helpers.complete_course(session, user, course, ROOT)
                cert, _ = certificates.issue_certificate(
                    session, user, course, now=datetime.now(UTC), settings=settings
                )
                session.commit()
                tokens.append(cert.token)
    finally:
        swap(accounts, "hash_password", real_hash)
        swap(content_helpers, "answer_key", real_key)
        engine.dispose()
    return Prepared(emails, uuids, tokens, modules, time.perf_counter() - began)


# --- servers -------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn --workers N: the supervisor and its workers)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with suppress(OSError):
                todo.extend(int(c) for c in task.read_text().split())
    return found


def cpu_of(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        with suppress(OSError, IndexError):
            out[pid] = mp.process_cpu_seconds(pid)
    return out


def postgres_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving ``database`` (not other databases)."""
    if not database:
        return 0.0
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, IndexError, ValueError):
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if title.startswith("postgres:") and f" {database} " in title:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_cluster_cpu() -> float:
    """CPU seconds of the whole local cluster: the postmaster, every live child (backends of
    any database, WAL writer, checkpointer, ...) and the children that already exited (the
    postmaster reaps them, so their time is in its cutime/cstime). Unlike postgres_cpu this
    counts the short-lived backends of pool overflow, and work done for the database by the
    background processes (WAL writing, checkpoints)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for proc in Path("/proc").glob("[0-9]*"):
        with suppress(OSError, IndexError, ValueError):
            if (proc / "comm").read_text().strip() == "postgres":
                stats[int(proc.name)] = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    masters = [pid for pid, f in stats.items() if int(f[1]) not in stats]
    total = 0.0
    for pid, f in stats.items():
        total += int(f[11]) + int(f[12])
        if pid in masters:
            total += int(f[13]) + int(f[14])
    return total / tick


class WaitSampler:
    """What the PostgreSQL backends of one database are doing, sampled from pg_stat_activity
    every 0.1 s in a thread of this client: per label, the average number of backends in that
    state over the segment ("CPU" = active and not waiting, "Lock:advisory" = queued on the
    audit chain's lock, "Lock:transactionid" = on another transaction's row lock, "idle in
    transaction" = the app holds an open transaction while Python works). Lock waits also name
    the statement that waits (its first three words, e.g. the table of an INSERT/UPDATE)."""

    def __init__(self, url: str, database: str) -> None:
        from sqlalchemy.engine import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self.database = database
        self.counts: dict[str, int] = {}
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import psycopg

        query = (
            "SELECT CASE WHEN state LIKE 'idle in transaction%%' THEN 'idle in transaction' "
            "ELSE coalesce(wait_event_type || ':' || wait_event, 'CPU') END, "
            "wait_event_type = 'Lock', left(query, 200) "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND state <> 'idle'"
        )
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.wait(0.1):
                rows = conn.execute(query, (self.database,)).fetchall()
                self.samples += 1
                for label, is_lock, statement in rows:
                    if is_lock:
                        label += " (" + " ".join(statement.split()[:3]) + ")"
                    self.counts[label] = self.counts.get(label, 0) + 1

    def __enter__(self) -> "WaitSampler":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def averages(self) -> dict[str, float]:
        n = max(1, self.samples)
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {label: round(count / n, 2) for label, count in ranked}


@dataclass
class Servers:
    ports: list[int]
    procs: list[subprocess.Popen[bytes]]

    def pids(self) -> list[int]:
        return [p for proc in self.procs for p in process_tree(proc.pid)]


@contextmanager
def uvicorn_servers(  # type: ignore[no-untyped-def]
    env: dict[str, str], procs: int, mode: str, log: Path, asgi: str = "app.asgi:app"
):
    """``--mode workers``: one ``uvicorn --workers N`` (the kernel spreads connections over the
    workers); ``--mode ports``: N single-process uvicorns, the client spreads connections."""
    if mode == "workers":
        layout = [(mp.free_port(), procs)]
    else:
        layout = [(mp.free_port(), 1) for _ in range(procs)]
    started: list[subprocess.Popen[bytes]] = []
    try:
        with log.open("w") as out:
            for port, workers in layout:
                cmd = [
                    sys.executable, "-m", "uvicorn", asgi,
                    "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                    "--log-level", "warning", "--no-access-log",
                ]  # fmt: skip
                started.append(
                    subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
                )
        servers = Servers([port for port, _ in layout], started)
        deadline = time.monotonic() + 60
        for port in servers.ports:
            while True:
                if any(p.poll() is not None for p in started):
                    mp.fail(f"server exited early:\n{log.read_text()[-3000:]}")
                with suppress(OSError, asyncio.IncompleteReadError, mp.BadResponse):
                    status, _, _ = get_once(port, request("GET", "/healthz", port))
                    if status == 200:
                        break
                if time.monotonic() > deadline:
                    mp.fail("server did not start within 60 s")
                time.sleep(0.2)
        if mode == "workers" and procs > 1:
            # The supervisor answers nothing itself: wait until every worker is up.
            while len(servers.pids()) < procs + 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)
        yield servers
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- client --------------------------------------------------------------------------------


def request(
    method: str, path: str, port: int, *, token: str = "", body: bytes = b"", form: bool = False
) -> bytes:
    head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: lms-load"]
    head.append("Accept: application/json")
    if token:
        head.append(f"Authorization: Bearer {token}")
    if method != "GET":
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        head += [f"Content-Type: {kind}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def get_once(port: int, req: bytes) -> tuple[int, bytes, dict[bytes, bytes]]:
    return mp.get_once(port, req)


class Conn:
    """One keep-alive connection; reconnects after an error or ``Connection: close``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, req: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None  # noqa: S101
        try:
            status, body, headers = await mp.fetch(self.reader, self.writer, req)
        except BaseException:
            self.close()
            raise
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Learner:
    """Takes the modules in order (each opens when the one before is passed), retrying a failed
    quiz; once all are passed, reviews: re-reads modules and retakes their quizzes while
    attempts remain. Retires before any quiz would need a 4th attempt (the 429 that would
    follow), so no step ever meets the attempt limit."""

    email: str
    token: str
    attempts: list[int] = field(default_factory=lambda: [0] * 6)
    passed: list[bool] = field(default_factory=lambda: [False] * 6)

    def next_module(self) -> int | None:
        for m, ok in enumerate(self.passed):
            if not ok:  # the course in order: the first module not passed yet
                return m if self.attempts[m] < MAX_ATTEMPTS else None
        left = [m for m, used in enumerate(self.attempts) if used < MAX_ATTEMPTS]
        return min(left, key=lambda m: self.attempts[m]) if left else None

    def record(self, module: int, passed: bool) -> None:
        self.attempts[module] += 1
        self.passed[module] = self.passed[module] or passed

    @property
    def done(self) -> bool:
        return self.next_module() is None


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    first_errors: list[str] = field(default_factory=list)
    loops: int = 0
    passed: int = 0
    exhausted: bool = False
    seconds: float = 0.0

    def error(self, step: str, what: str) -> None:
        self.errors[step] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{step}: {what}")


class Mix:
    """The learner loop, shared by all connections of one segment."""

    def __init__(
        self, ports: list[int], modules: list[str], cert_tokens: list[str], seed: int
    ) -> None:
        from tests import content_helpers

        self.ports = ports
        self.modules = modules
        self.cert_tokens = cert_tokens
        self.keys = {m: content_helpers.answer_key(ROOT, COURSE, m) for m in modules}
        self.rng = random.Random(seed)

    def answers(self, module: str, questions: list[dict[str, Any]]) -> dict[str, Any]:
        from tests import content_helpers

        right = content_helpers.correct_answers(questions, self.keys[module])
        wrong = content_helpers.wrong_answers(questions, self.keys[module])
        return {q: right[q] if self.rng.random() < ITEM_RIGHT else wrong[q] for q in right}

    async def step(
        self, conn: Conn, stats: Stats | None, name: str, req: bytes, expect: int
    ) -> bytes | None:
        started = time.perf_counter()
        try:
            status, body = await conn.send(req)
        except (mp.BadResponse, asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
            if stats:
                stats.error(name, repr(exc))
            return None
        if stats:
            stats.latencies[name].append(time.perf_counter() - started)
            if status != expect:
                stats.error(name, f"status {status}: {body[:200]!r}")
        return body if status == expect else None

    async def loop(self, conn: Conn, learner: Learner, stats: Stats | None) -> None:
        port, token = conn.port, learner.token
        index = learner.next_module()
        assert index is not None  # noqa: S101 (done learners leave the pool)
        module = self.modules[index]
        base = f"/api/v1/courses/{COURSE}"
        body = await self.step(
            conn,
            stats,
            "module",
            request("GET", f"{base}/modules/{module}", port, token=token),
            200,
        )
        if body is None:
            return
        body = await self.step(
            conn,
            stats,
            "start",
            request("POST", f"{base}/modules/{module}/attempts", port, token=token),
            201,
        )
        if body is None:
            learner.attempts = [MAX_ATTEMPTS] * len(self.modules)
            return
        attempt = json.loads(body)
        answers = self.answers(module, attempt["questions"])
        sent = json.dumps({"answers": answers}).encode()
        path = f"/api/v1/attempts/{attempt['attempt_id']}/submission"
        body = await self.step(
            conn, stats, "submit", request("POST", path, port, token=token, body=sent), 200
        )
        if body is None:
            learner.attempts = [MAX_ATTEMPTS] * len(self.modules)  # unknown state: retire
            return
        passed = bool(json.loads(body)["passed"])
        learner.record(index, passed)
        if stats and passed:
            stats.passed += 1
        body = await self.step(
            conn, stats, "dashboard", request("GET", base, port, token=token), 200
        )
        if body is None:
            return
        cert = json.dumps({"token": self.rng.choice(self.cert_tokens)}).encode()
        body = await self.step(
            conn, stats, "verify", request("POST", "/api/v1/verify", port, body=cert), 200
        )
        if body is not None and b'"valid":true' not in body and stats:
            stats.error("verify", f"not valid: {body[:200]!r}")
        if stats:
            stats.loops += 1


async def run_mix(
    mix: Mix, pool: deque[Learner], concurrency: int, seconds: float, stats: Stats | None
) -> None:
    stop_at = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        conn = Conn(mix.ports[n % len(mix.ports)])
        try:
            while time.perf_counter() < stop_at:
                if not pool:
                    if stats:
                        stats.exhausted = True
                    return
                learner = pool.popleft()
                await mix.loop(conn, learner, stats)
                if not learner.done:
                    pool.append(learner)
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    if stats:
        stats.seconds = time.perf_counter() - began


def mint_tokens(data_dir: Path, subjects: list[str]) -> list[str]:
    """The bearer tokens POST /api/v1/auth/token would return (same secret, same claims,
    15 minutes), without the Argon2 check that costs ~0.5 s of server CPU per learner."""
    from app.core.security import create_access_token, load_or_create_secret
    from app.core.settings import Settings

    settings = Settings(data_dir=data_dir)
    secret = load_or_create_secret(settings.token_secret_path)
    now = datetime.now(UTC)
    minutes = settings.access_token_minutes
    return [create_access_token(secret, s, now=now, minutes=minutes) for s in subjects]


async def sign_in(
    ports: list[int], emails: list[str], parallel: int
) -> tuple[list[str], list[float]]:
    """Bearer tokens for every learner through POST /api/v1/auth/token (Argon2 on the server)."""
    tokens: dict[str, str] = {}
    times: list[float] = []
    todo = deque(emails)

    async def worker(n: int) -> None:
        conn = Conn(ports[n % len(ports)])
        try:
            while todo:
                email = todo.popleft()
                form = urlencode({"username": email, "password": PASSWORD}).encode()
                started = time.perf_counter()
                req = request("POST", "/api/v1/auth/token", conn.port, body=form, form=True)
                status, body = await conn.send(req)
                times.append(time.perf_counter() - started)
                if status != 200:
                    mp.fail(f"sign-in failed for {email}: {status} {body[:300]!r}")
                tokens[email] = json.loads(body)["access_token"]
        finally:
            conn.close()

    await asyncio.gather(*(worker(n) for n in range(parallel)))
    return [tokens[e] for e in emails], times


async def time_batch(port: int, tokens: list[str], calls: int) -> tuple[list[float], int]:
    conn = Conn(port)
    body = json.dumps({"items": tokens}).encode()
    req = request("POST", "/api/v1/verify/batch", port, body=body)
    times, errors = [], 0
    try:
        for n in range(calls + 3):  # 3 warm-up calls
            started = time.perf_counter()
            status, answer = await conn.send(req)
            elapsed = time.perf_counter() - started
            results = json.loads(answer).get("results", []) if status == 200 else []
            if status != 200 or len(results) != len(tokens) or not all(r["valid"] for r in results):
                errors += 1
            elif n >= 3:
                times.append(elapsed)
    finally:
        conn.close()
    return times, errors


# --- reporting -----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    return mp.percentile(sorted(values), p) * 1000


def machine_facts() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "memory_mib": str(int(mem) // 1024),
        "kernel": os.uname().release,
        "python": sys.version.split()[0],
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


@dataclass
class Segment:
    """One measured run of one configuration (a server started for it, its own learners)."""

    stats: Stats
    cpu_per_process: list[float]
    client_cpu: float
    postgres_cpu: float
    cluster_cpu: float  # the whole PostgreSQL cluster, exited backends and WAL writer included
    machine_busy: float
    others_cpu: float  # cores busy with anything but the servers, this client and postgres
    batch_times: list[float]
    batch_errors: int
    pg_waits: dict[str, float]  # WaitSampler.averages()


def run_segment(
    db: str,
    procs: int,
    args: argparse.Namespace,
    env: dict[str, str],
    prepared: Prepared,
    learners: list[Learner],
    log: Path,
    seed: int,
) -> Segment:
    with uvicorn_servers(env, procs, args.mode, log, args.asgi) as servers:
        pool = deque(learners)
        mix = Mix(servers.ports, prepared.modules, prepared.cert_tokens, seed=seed)
        asyncio.run(run_mix(mix, pool, args.concurrency, args.warmup, None))
        pids = servers.pids()
        pg_name = prepared.pg_database
        cpu0, srv0, pg0 = time.process_time(), cpu_of(pids), postgres_cpu(pg_name)
        cl0 = postgres_cluster_cpu() if db == "postgres" else 0.0
        busy0, total0 = mp.machine_busy_ticks()
        stats = Stats()
        with ExitStack() as sampling:
            sampler = None
            if db == "postgres":
                sampler = sampling.enter_context(WaitSampler(env["LMS_DATABASE_URL"], pg_name))
            asyncio.run(run_mix(mix, pool, args.concurrency, args.seconds, stats))
        busy1, total1 = mp.machine_busy_ticks()
        srv1, pg1 = cpu_of(pids), postgres_cpu(pg_name)
        cl1 = postgres_cluster_cpu() if db == "postgres" else 0.0
        secs = stats.seconds
        client_cpu = (time.process_time() - cpu0) / secs
        per_proc = sorted(((srv1[p] - srv0.get(p, srv1[p])) / secs for p in srv1), reverse=True)
        batch_times, batch_errors = asyncio.run(
            time_batch(servers.ports[0], prepared.cert_tokens[:HOLDERS], args.batch_calls)
        )
    busy = (busy1 - busy0) / max(1, total1 - total0)
    pg_cpu = (pg1 - pg0) / secs if db == "postgres" else 0.0
    cluster_cpu = (cl1 - cl0) / secs
    seg = Segment(
        stats=stats,
        cpu_per_process=[round(c, 2) for c in per_proc if c > 0.005],
        client_cpu=client_cpu,
        postgres_cpu=pg_cpu,
        cluster_cpu=cluster_cpu,
        machine_busy=busy,
        others_cpu=max(
            0.0,
            busy * (os.cpu_count() or 1) - sum(per_proc) - client_cpu - max(pg_cpu, cluster_cpu),
        ),
        batch_times=batch_times,
        batch_errors=batch_errors,
        pg_waits=sampler.averages() if sampler else {},
    )
    requests = sum(len(v) for v in stats.latencies.values())
    errors = sum(stats.errors.values()) + batch_errors
    print(
        f"  {db} x{procs}: {requests / secs:7.1f} req/s, {stats.loops / secs:5.1f} loops/s, "
        f"errors {errors}; CPU server {sum(per_proc):.0%} {seg.cpu_per_process}, client "
        f"{client_cpu:.0%}, postgres {seg.postgres_cpu:.0%} (cluster {seg.cluster_cpu:.0%}), "
        f"others {seg.others_cpu:.0%}, "
        f"machine {seg.machine_busy:.0%}; "
        f"batch p50 {pct(batch_times, 50):.0f} ms; CPU ms per request: server "
        f"{1000 * sum(per_proc) * secs / max(1, requests):.2f}, postgres cluster "
        f"{1000 * cluster_cpu * secs / max(1, requests):.2f}"
        + ("  LEARNER POOL EXHAUSTED (raise --learners)" if stats.exhausted else ""),
        flush=True,
    )
    if seg.pg_waits:
        print(f"    postgres backends (average, by state): {seg.pg_waits}", flush=True)
    for line in stats.first_errors:
        print(f"    error: {line}", flush=True)
    return seg


def summarize(db: str, procs: int, args: argparse.Namespace, segs: list[Segment]) -> dict[str, Any]:
    """Pools the rounds of one configuration: requests / measured seconds, per-request latency."""
    secs = sum(g.stats.seconds for g in segs)
    lat = {s: [x for g in segs for x in g.stats.latencies[s]] for s in STEPS}
    errs = {s: sum(g.stats.errors[s] for g in segs) for s in STEPS}
    requests = sum(len(v) for v in lat.values())
    batch = [x for g in segs for x in g.batch_times]
    batch_errors = sum(g.batch_errors for g in segs)
    exhausted = sum(1 for g in segs if g.stats.exhausted)

    def weighted(get: Any) -> float:
        return float(sum(get(g) * g.stats.seconds for g in segs) / secs)

    return {
        "db": db,
        "procs": procs,
        "mode": args.mode,
        "rounds": len(segs),
        "seconds": round(secs, 2),
        "concurrency": args.concurrency,
        "requests": requests,
        "rps": requests / secs,
        "rps_per_round": [
            round(sum(len(v) for v in g.stats.latencies.values()) / g.stats.seconds, 1)
            for g in segs
        ],
        "loops_per_s": sum(g.stats.loops for g in segs) / secs,
        "pass_rate": sum(g.stats.passed for g in segs) / max(1, len(lat["submit"])),
        "errors": sum(errs.values()) + batch_errors + exhausted,
        "pool_exhausted": exhausted,
        "first_errors": [e for g in segs for e in g.stats.first_errors][:5],
        "steps": {
            s: {
                "count": len(lat[s]),
                "errors": errs[s],
                "p50_ms": pct(lat[s], 50),
                "p95_ms": pct(lat[s], 95),
                "p99_ms": pct(lat[s], 99),
            }
            for s in STEPS
        },
        "server_cpu": weighted(lambda g: sum(g.cpu_per_process)),
        "server_cpu_per_process": [g.cpu_per_process for g in segs],
        "client_cpu": weighted(lambda g: g.client_cpu),
        "postgres_cpu": weighted(lambda g: g.postgres_cpu),
        "cluster_cpu": weighted(lambda g: g.cluster_cpu),
        "machine_busy": weighted(lambda g: g.machine_busy),
        "others_cpu": weighted(lambda g: g.others_cpu),
        "pg_waits": {
            label: round(weighted(lambda g, k=label: g.pg_waits.get(k, 0.0)), 2)
            for label in sorted({k for g in segs for k in g.pg_waits})
        },
        "batch": {
            "calls": len(batch),
            "errors": batch_errors,
            "p50_ms": pct(batch, 50),
            "p95_ms": pct(batch, 95),
            "max_ms": max(batch, default=float("nan")) * 1000,
        },
    }


def print_config(r: dict[str, Any]) -> None:
    print(f"\n== {r['db']} x{r['procs']} ({r['mode']}), {r['rounds']} rounds pooled")
    print(f"  {'step':10}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, s in r["steps"].items():
        print(
            f"  {name:10}{s['count']:8d}{s['errors']:8d}"
            f"{s['p50_ms']:9.1f}{s['p95_ms']:9.1f}{s['p99_ms']:9.1f}"
        )
    b = r["batch"]
    if r["pg_waits"]:
        print(f"  postgres backends (average, by state): {r['pg_waits']}")
    print(
        f"  {r['rps']:.1f} req/s ({r['loops_per_s']:.1f} loops/s, {r['requests']} requests in "
        f"{r['seconds']} s; rounds {r['rps_per_round']}), {r['pass_rate']:.0%} of submissions "
        f"passed; CPU: server {r['server_cpu']:.0%}, client {r['client_cpu']:.0%}, "
        f"postgres {r['postgres_cpu']:.0%} (cluster {r['cluster_cpu']:.0%}), "
        f"others {r['others_cpu']:.0%}, "
        f"machine {r['machine_busy']:.0%} busy",
        flush=True,
    )
    print(
        f"  verify/batch x100 tokens, {b['calls']} calls alone: p50 {b['p50_ms']:.1f} ms, "
        f"p95 {b['p95_ms']:.1f} ms, max {b['max_ms']:.1f} ms, errors {b['errors']}",
        flush=True,
    )


def targets(results: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    checks: list[tuple[str, str, bool | None]] = []
    by = {(r["db"], r["procs"]): r for r in results}
    for db in ("postgres", "sqlite"):
        if (db, 1) in by and (db, 2) in by:
            ratio = by[(db, 2)]["rps"] / by[(db, 1)]["rps"]
            name = f"{db}: 2 processes / 1 process >= {SCALING_TARGET}x"
            checks.append(
                (name, f"{ratio:.2f}x", ratio >= SCALING_TARGET if db == "postgres" else None)
            )
    for r in results:
        b = r["batch"]
        checks.append(
            (
                f"{r['db']} x{r['procs']}: verify/batch (100) p95 < {BATCH_TARGET_MS:g} ms",
                f"p50 {b['p50_ms']:.1f} / p95 {b['p95_ms']:.1f} ms",
                b["p95_ms"] < BATCH_TARGET_MS,
            )
        )
    for r in results:
        s = r["steps"]["submit"]
        tail = s["p99_ms"] / s["p50_ms"] if s["p50_ms"] else float("inf")
        checks.append(
            (
                f"{r['db']} x{r['procs']}: submission p99 < {SUBMIT_TAIL_TARGET:g}x p50",
                f"{s['p99_ms']:.0f} / {s['p50_ms']:.0f} ms = {tail:.1f}x",
                tail < SUBMIT_TAIL_TARGET,
            )
        )
    return checks


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma list: sqlite,postgres")
    parser.add_argument("--procs", default="1,2", help="comma list of app process counts")
    parser.add_argument(
        "--mode",
        choices=["workers", "ports"],
        default="ports",
        help="ports: N uvicorns, client round-robin (default); workers: one uvicorn --workers N",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="measured, per segment")
    parser.add_argument("--warmup", type=float, default=3.0, help="per segment, not measured")
    parser.add_argument(
        "--rounds", type=int, default=2, help="segments per configuration, alternating 1,2,1,2"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="connections")
    parser.add_argument(
        "--learners", type=int, default=80, help="per segment (up to 18 loops each)"
    )
    parser.add_argument("--batch-calls", type=int, default=30)
    parser.add_argument(
        "--sign-in",
        choices=["mint", "api"],
        default="mint",
        help="mint: bearer tokens signed here with the servers' secret, just before each "
        "segment (sign-in is not part of the mix); api: POST /api/v1/auth/token per learner "
        "(Argon2 on the server, about 10 minutes for 320 learners on this machine)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--asgi",
        default="app.asgi:app",
        help="the app uvicorn serves (to compare a variant, e.g. with one feature patched out)",
    )
    args = parser.parse_args(argv)
    dbs = [d for d in args.db.split(",") if d]
    counts = [int(p) for p in args.procs.split(",") if p]
    if not set(dbs) <= {"sqlite", "postgres"}:
        mp.fail(f"unknown --db {args.db}")
    if args.learners < 2 * args.concurrency:
        # Each connection needs a learner of its own; an empty pool ends a segment early.
        mp.fail("--learners must be at least twice --concurrency")

    facts = machine_facts()
    print(
        f"machine: {facts['cpus']} CPUs ({facts['cpu']}), {facts['memory_mib']} MiB, "
        f"Linux {facts['kernel']}, Python {facts['python']}, load average {facts['loadavg']}",
        flush=True,
    )
    results: list[dict[str, Any]] = []
    for db in dbs:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-load-")))
            if db == "sqlite":
                url = f"sqlite:///{tmp / 'load.sqlite3'}"
            else:
                url = stack.enter_context(
                    mp.postgres_database(os.getenv("LMS_LOAD_POSTGRES_URL", DEFAULT_PG_URL))
                )
            data_dir = tmp / "data"
            print(f"\npreparing {db} ...", flush=True)
            segments_per_db = args.rounds * len(counts)
            prepared = prepare(url, data_dir, args.learners * segments_per_db, HOLDERS)
            if db == "postgres":
                prepared.pg_database = url.rsplit("/", 1)[-1]
            print(
                f"  {len(prepared.emails)} learners ({args.learners} per segment), "
                f"{len(prepared.cert_tokens)} certificates, {len(prepared.modules)} modules, "
                f"in {prepared.seconds:.1f} s",
                flush=True,
            )
            env = {
                **os.environ,
                "LMS_DATA_DIR": str(data_dir),
                "LMS_DATABASE_URL": url,
                "LMS_CONTENT_DIR": str(ROOT),
                "LMS_BASE_URL": BASE_URL,
            }
            emails = prepared.emails
            if args.sign_in == "api":
                # One sign-in per learner (Argon2 on the server), all before the first segment;
                # the 15-minute tokens outlive the segments of one database.
                with uvicorn_servers(
                    env, max(counts), args.mode, tmp / "signin.log", args.asgi
                ) as servers:
                    began = time.perf_counter()
                    tokens, times = asyncio.run(sign_in(servers.ports, emails, 2 * max(counts)))
                print(
                    f"  signed in {len(emails)} learners (POST /api/v1/auth/token) in "
                    f"{time.perf_counter() - began:.0f} s, p50 {pct(times, 50):.0f} ms",
                    flush=True,
                )
            else:
                tokens = [""] * len(emails)  # minted per segment, just before it
            size = len(prepared.modules)
            learners = [
                Learner(e, t, attempts=[0] * size, passed=[False] * size)
                for e, t in zip(emails, tokens, strict=True)
            ]
            segments: dict[int, list[Segment]] = {p: [] for p in counts}
            n = 0
            for round_no in range(args.rounds):
                for procs in counts:
                    # Each segment gets its own fresh learners: nobody runs out of attempts.
                    mine = learners[n * args.learners : (n + 1) * args.learners]
                    if args.sign_in == "mint":
                        first = n * args.learners
                        subjects = prepared.uuids[first : first + args.learners]
                        for learner, token in zip(
                            mine, mint_tokens(data_dir, subjects), strict=True
                        ):
                            learner.token = token
                    log = tmp / f"server-{procs}-{round_no}.log"
                    seed = 1000 * round_no + procs
                    segments[procs].append(
                        run_segment(db, procs, args, env, prepared, mine, log, seed)
                    )
                    n += 1
            for procs in counts:
                results.append(summarize(db, procs, args, segments[procs]))
                print_config(results[-1])

    print("\nsummary")
    print(f"  {'config':14}{'req/s':>8}{'loops/s':>9}{'errors':>8}{'submit p50/p95/p99 ms':>26}")
    for r in results:
        s = r["steps"]["submit"]
        print(
            f"  {r['db'] + ' x' + str(r['procs']):14}{r['rps']:8.1f}{r['loops_per_s']:9.1f}"
            f"{r['errors']:8d}{s['p50_ms']:10.0f}{s['p95_ms']:8.0f}{s['p99_ms']:8.0f}"
        )
    print("\ntargets (reported; the exit code only reflects errors)")
    checks = targets(results)
    for name, value, ok in checks:
        verdict = "info" if ok is None else "PASS" if ok else "FAIL"
        print(f"  {verdict:5} {name}: {value}")
    total_errors = sum(r["errors"] for r in results)
    print(f"\nerrors: {total_errors}", flush=True)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": datetime.now(UTC).date().isoformat(),
                    "machine": facts,
                    "results": results,
                    "targets": [{"name": n, "value": v, "pass": ok} for n, v, ok in checks],
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if total_errors == 0 else 1


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit:
        raise
    except Exception:  # a crash is not a benchmark result: exit 2, like module_page.py
        import traceback

        traceback.print_exc()
        sys.exit(2)
    sys.exit(code)
