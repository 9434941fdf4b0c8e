# ruff: noqa: S603, S607  (runs local tools: uvicorn, psql via runuser, pg_isready, py-spy)
"""Module-page throughput: the real page for a signed-in learner against a bare endpoint.

    .venv/bin/python benchmarks/module_page.py --db sqlite|postgres [--seconds N] [--concurrency C]

One run: a fresh database (migrations, the shipped course, one enrolled and signed-in learner),
ONE uvicorn process serving ``create_app`` plus ``GET /bench/bare`` (benchmarks/bench_app.py),
which returns the bytes of the real module page. A keep-alive HTTP/1.1 client on loopback
alternates the two targets (bare, real, bare, real, ...) so drift on a small machine hits both;
it reports requests/s, latency percentiles, errors, CPU use, and real/bare against the 2/3 target.
The target is only meaningful when the server is the bottleneck, so the client is a minimal
asyncio socket client (far cheaper per request than httpx) and its CPU use is printed.
"""

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATIO = 2 / 3
DEFAULT_PG_URL = "postgresql+psycopg://lms_test:lms_test@127.0.0.1:5432/lms_bench"
COURSE = "ketamine-assisted-therapy"
CSRF_TOKEN = "b" * 43  # a fixed CSRF cookie: the middleware keeps it, so pages are byte-stable
PASSWORD = "correct battery staple horse lamp"  # noqa: S105 (a throwaway test learner)


def fail(message: str) -> NoReturn:
    """Set-up went wrong (not a benchmark result): exit 2."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


# --- database ------------------------------------------------------------------------------


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=False
    )


def _pg_ready() -> bool:
    ok = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], check=False)
    return ok.returncode == 0


@contextmanager
def postgres_database(url: str):  # type: ignore[no-untyped-def]
    """Recreates the database named in url (dropped again on exit); yields url."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    role = parts.username or "lms_test"
    if not _pg_ready() and shutil.which("pg_ctlcluster") and os.geteuid() == 0:
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=False)
        for _ in range(30):
            if _pg_ready():
                break
            time.sleep(1)
    if os.geteuid() == 0 and shutil.which("runuser"):
        secret = parts.password or role
        script = (
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} LOGIN PASSWORD '{secret}' CREATEDB; END IF; END $$;"
        )
        for sql in (
            script,
            f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
            f"CREATE DATABASE {name} OWNER {role}",
        ):
            done = _as_postgres("psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql)
            if done.returncode != 0:
                fail(f"psql failed: {sql}\n{done.stderr}")

        def drop() -> None:
            _as_postgres("psql", "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        # Not root: the role in the URL must be allowed to create databases.
        from sqlalchemy import create_engine, text

        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.dispose()

    try:
        yield url
    finally:
        drop()


@dataclass
class Prepared:
    module_path: str
    session_cookies: list[str]
    module_title: str


def prepare(database_url: str, data_dir: Path, learners: int) -> Prepared:
    """Migrates, imports the shipped course, and signs in enrolled learners (one per connection:
    a learner reads one page at a time, so no two connections share enrollment or visit rows)."""
    from sqlmodel import Session, select

    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.accounts.schemas import RegisterIn
    from app.core.db import make_engine, upgrade_to_head
    from app.core.settings import Settings
    from app.courses import service as courses
    from app.courses.models import Course
    from app.studio import importer
    from app.studio.parsing import load_content

    settings = Settings(data_dir=data_dir, database_url=database_url, content_dir=ROOT)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    now = datetime.now(UTC)
    report = load_content(ROOT, today=now.date())
    if report.errors:
        fail("content errors:\n" + "\n".join(str(p) for p in report.errors))
    with Session(engine, expire_on_commit=False) as session:
        importer.import_specs(session, report.courses, now=now)
        session.commit()
        course = session.exec(select(Course).where(Course.slug == COURSE)).one()
        cookies = []
        for n in range(1, learners + 1):
            # Equal-length names and emails: every learner's page has the same byte length.
            user = accounts.create_user(
                session,
                RegisterIn(
                    email=f"bench-learner-{n:03d}@example.org",
                    password=PASSWORD,
                    full_name=f"Bench Learner {n:03d}",
                    profession="Clinical Social Worker (LCSW)",
                    license_number="LCSW-12345",
                    license_state="CA",
                ),
                role=Role.learner,
                now=now,
                settings=settings,
            )
            courses.enroll(session, user, course, now=now)
            cookies.append(
                accounts.start_web_session(
                    session, user, now=now, settings=settings, mfa_pending=False
                )
            )
        progress = courses.progress(session, user, course)
        # The first open module: the page a learner reads most, with every access check.
        first = next(m for m in progress.modules if m.state == courses.AVAILABLE)
        session.commit()
        path = f"/courses/{COURSE}/modules/{first.module.slug}"
        title = first.version.title
    engine.dispose()
    return Prepared(module_path=path, session_cookies=cookies, module_title=title)


# --- server --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def uvicorn_server(env: dict[str, str], port: int, log: Path):  # type: ignore[no-untyped-def]
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "benchmarks.bench_app:build",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-access-log", "--app-dir", str(ROOT),
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                fail(f"server exited early:\n{log.read_text()}")
            with suppress(OSError):
                import socket

                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            if time.monotonic() > deadline:
                fail("server did not start within 30 s")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL server process (the backends the page talks to);
    0 when there are none (SQLite runs in the app process)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# --- client --------------------------------------------------------------------------------


class BadResponse(Exception):
    pass


async def fetch(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, dict[bytes, bytes]]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(b":")
            headers[key.strip().lower()] = value.strip()
    if b"content-length" not in headers:
        raise BadResponse("no content-length")
    body = await reader.readexactly(int(headers[b"content-length"]))
    return status, body, headers


@dataclass
class Segment:
    target: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    machine_busy: float = 0.0
    first_error: str = ""


async def load(
    port: int, requests: list[bytes], expected: bytes, seconds: float, seg: Segment
) -> None:
    """One keep-alive connection per request (learner), each sending it back to back."""
    stop_at = time.perf_counter() + seconds

    async def worker(request: bytes) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    status, body, headers = await fetch(reader, writer, request)
                except (BadResponse, asyncio.IncompleteReadError, ConnectionError) as exc:
                    seg.errors += 1
                    seg.first_error = seg.first_error or repr(exc)
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                seg.latencies.append(time.perf_counter() - started)
                seg.requests += 1
                if status != 200 or len(body) != len(expected):
                    seg.errors += 1
                    seg.first_error = seg.first_error or f"status {status}, {len(body)} bytes"
                if headers.get(b"connection", b"").lower() == b"close":
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker(r) for r in requests))
    seg.seconds = time.perf_counter() - began


def run_segment(
    target: str,
    port: int,
    requests: list[bytes],
    expected: bytes,
    seconds: float,
    server_pid: int,
) -> Segment:
    seg = Segment(target)
    cpu0, srv0, db0, (busy0, total0) = (
        time.process_time(),
        process_cpu_seconds(server_pid),
        database_cpu_seconds(),
        (machine_busy_ticks()),
    )
    asyncio.run(load(port, requests, expected, seconds, seg))
    busy1, total1 = machine_busy_ticks()
    seg.client_cpu = (time.process_time() - cpu0) / seg.seconds
    seg.server_cpu = (process_cpu_seconds(server_pid) - srv0) / seg.seconds
    seg.database_cpu = (database_cpu_seconds() - db0) / seg.seconds
    seg.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
    return seg


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(segments: list[Segment]) -> dict[str, float | int]:
    lat = sorted(x for s in segments for x in s.latencies)
    seconds = sum(s.seconds for s in segments)
    return {
        "requests": sum(s.requests for s in segments),
        "errors": sum(s.errors for s in segments),
        "seconds": round(seconds, 2),
        "rps": sum(s.requests for s in segments) / seconds,
        "p50_ms": percentile(lat, 50) * 1000,
        "p95_ms": percentile(lat, 95) * 1000,
        "p99_ms": percentile(lat, 99) * 1000,
        "server_cpu": sum(s.server_cpu * s.seconds for s in segments) / seconds,
        # Server CPU per request: steadier than req/s when other jobs share the machine.
        "server_ms_per_request": sum(s.server_cpu * s.seconds for s in segments)
        * 1000
        / max(1, sum(s.requests for s in segments)),
        "client_cpu": sum(s.client_cpu * s.seconds for s in segments) / seconds,
        # PostgreSQL's processes (all of them: other jobs' queries count too).
        "database_ms_per_request": sum(s.database_cpu * s.seconds for s in segments)
        * 1000
        / max(1, sum(s.requests for s in segments)),
        "machine_busy": sum(s.machine_busy * s.seconds for s in segments) / seconds,
    }


# --- main ----------------------------------------------------------------------------------


def build_request(path: str, port: int, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: lms-bench\r\n"
        f"Accept: text/html\r\nCookie: lms_session={cookie}; lms_csrf={CSRF_TOKEN}\r\n\r\n"
    ).encode()


def get_once(port: int, request: bytes) -> tuple[int, bytes, dict[bytes, bytes]]:
    async def go() -> tuple[int, bytes, dict[bytes, bytes]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await fetch(reader, writer, request)
        finally:
            writer.close()

    return asyncio.run(go())


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--seconds", type=float, default=10.0, help="per measured segment")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="connections, one signed-in learner each"
    )
    parser.add_argument("--rounds", type=int, default=2, help="bare+real pairs (default 2)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per target")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument(
        "--profile", type=Path, help="afterwards, py-spy the server under real-page load (SVG)"
    )
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-bench-")))
        if args.db == "sqlite":
            url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        else:
            url = stack.enter_context(
                postgres_database(os.getenv("LMS_BENCH_POSTGRES_URL", DEFAULT_PG_URL))
            )
        data_dir = tmp / "data"
        print(f"preparing {args.db} database ...", flush=True)
        prepared = prepare(url, data_dir, args.concurrency)

        port = free_port()
        page_file = tmp / "page.html"
        env = {
            **os.environ,
            "LMS_DATA_DIR": str(data_dir),
            "LMS_DATABASE_URL": url,
            "LMS_CONTENT_DIR": str(ROOT),
            "LMS_BASE_URL": f"http://127.0.0.1:{port}",
            "LMS_BENCH_BARE_FILE": str(page_file),
        }
        server = stack.enter_context(uvicorn_server(env, port, tmp / "server.log"))

        cookies = prepared.session_cookies
        real_reqs = [build_request(prepared.module_path, port, c) for c in cookies]
        bare_reqs = [build_request("/bench/bare", port, c) for c in cookies]
        status, page, headers = get_once(port, real_reqs[0])
        if status != 200 or prepared.module_title.encode() not in page:
            fail(f"the real page failed: {status}\n{page[:500]!r}")
        for req in real_reqs[1:]:
            status, other, _ = get_once(port, req)
            if status != 200 or len(other) != len(page):
                fail(f"another learner's page differs: {status}, {len(other)} bytes")
        page_file.write_bytes(page)
        page_file.with_suffix(".type").write_bytes(headers[b"content-type"])
        status, bare_page, bare_headers = get_once(port, bare_reqs[0])
        if status != 200 or bare_page != page:
            fail("the bare endpoint does not return the real page's bytes")
        if bare_headers[b"content-type"] != headers[b"content-type"]:
            fail("the bare endpoint's content type differs")
        print(
            f"{args.db}: GET {prepared.module_path} -> {len(page)} bytes; "
            f"{args.concurrency} connections, {args.rounds}x{args.seconds:g}s per target",
            flush=True,
        )

        targets = {"bare": bare_reqs, "real": real_reqs}
        for name, req in targets.items():
            run_segment(name, port, req, page, args.warmup, server.pid)
        segments: dict[str, list[Segment]] = {"bare": [], "real": []}
        for round_no in range(1, args.rounds + 1):
            for name, req in targets.items():
                seg = run_segment(name, port, req, page, args.seconds, server.pid)
                segments[name].append(seg)
                print(
                    f"  round {round_no} {name:4}: {seg.requests / seg.seconds:8.1f} req/s  "
                    f"errors {seg.errors}  server CPU {seg.server_cpu:4.0%}  "
                    f"client CPU {seg.client_cpu:4.0%}  database CPU {seg.database_cpu:4.0%}  "
                    f"machine {seg.machine_busy:4.0%}"
                    + (f"  first error: {seg.first_error}" if seg.first_error else ""),
                    flush=True,
                )

        batches = ""
        if args.db == "postgres":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/loop-reads") as answer:
                counts = json.load(answer)
            per_trip = counts["reads"] / max(1, counts["round_trips"])
            batches = f"{counts['reads']} reads in {counts['round_trips']} round trips"
            print(f"  event-loop reads: {batches} ({per_trip:.1f} per round trip)", flush=True)

        if args.profile:
            profile(args.profile, port, real_reqs, page, args, server.pid)

        bare, real = summarize(segments["bare"]), summarize(segments["real"])
        ratio = float(real["rps"]) / float(bare["rps"])
        passed = ratio >= TARGET_RATIO and bare["errors"] == 0 and real["errors"] == 0
        print()
        print(f"{'':6}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
              f"{'requests':>10}{'srv CPU':>9}{'cli CPU':>9}{'srv ms/req':>12}"
              f"{'db ms/req':>11}")  # fmt: skip
        for name, s in (("bare", bare), ("real", real)):
            print(
                f"{name:6}{s['rps']:9.1f}{s['p50_ms']:9.2f}{s['p95_ms']:9.2f}{s['p99_ms']:9.2f}"
                f"{s['errors']:8d}{s['requests']:10d}{s['server_cpu']:9.0%}{s['client_cpu']:9.0%}"
                f"{s['server_ms_per_request']:12.3f}{s['database_ms_per_request']:11.3f}"
            )
        verdict = "PASS" if passed else "FAIL"
        cpu_ratio = float(bare["server_ms_per_request"]) / float(real["server_ms_per_request"])
        print(f"\n{args.db}: real/bare = {ratio:.3f} (target >= {TARGET_RATIO:.3f}): {verdict}")
        print(f"{args.db}: server CPU per request, bare/real = {cpu_ratio:.3f} (not the target)")
        result: dict[str, object] = {
            "db": args.db,
            "path": prepared.module_path,
            "page_bytes": len(page),
            "concurrency": args.concurrency,
            "seconds_per_segment": args.seconds,
            "rounds": args.rounds,
            "bare": bare,
            "real": real,
            "ratio": ratio,
            "cpu_ratio": cpu_ratio,
            "loop_reads": batches,
            "target": TARGET_RATIO,
            "pass": passed,
            "date": datetime.now(UTC).date().isoformat(),
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return result


def profile(
    out: Path, port: int, reqs: list[bytes], page: bytes, args: argparse.Namespace, pid: int
) -> None:
    """Samples the server with py-spy while the real page is under load (not in the figures)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy is not installed (.venv/bin/pip install py-spy); no profile", flush=True)
        return
    seconds = max(5, int(args.seconds))
    fmt = "speedscope" if out.suffix == ".json" else "raw" if out.suffix == ".txt" else "flamegraph"
    cmd = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
           "--format", fmt, "--output", str(out), "--nonblocking", "--threads"]  # fmt: skip
    spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    run_segment("real", port, reqs, page, seconds + 1, pid)
    _, err = spy_proc.communicate(timeout=60)
    if spy_proc.returncode != 0:
        print(f"py-spy failed: {err.decode()[-500:]}", flush=True)
    else:
        print(f"profile written to {out}", flush=True)


if __name__ == "__main__":
    try:
        outcome = main()
    except Exception:  # a crash is not a benchmark result: exit 2, like fail()
        import traceback

        traceback.print_exc()
        sys.exit(2)
    sys.exit(0 if outcome["pass"] else 1)
