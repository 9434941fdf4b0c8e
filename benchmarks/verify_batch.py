"""Batch verification over HTTP: POST /api/v1/verify/batch with 100 certificate tokens.

    .venv/bin/python benchmarks/verify_batch.py [--db sqlite,postgres] [--calls N]
        [--items 100] [--json out.json]

Per database: the data of benchmarks/load.py (a fresh database, the shipped course, 100 holders
who finished it through the services and were issued a certificate), ONE ``uvicorn
app.asgi:app`` process, and sequential calls on one keep-alive connection (3 warm-up calls,
then ``--calls`` measured), each with the same ``--items`` tokens, every answer checked (200,
one result per item, all valid). No other load runs, so this measures the request itself, as
the target states it: a batch of 100 answers in under 100 ms. Prints p50/p95/p99/max, the
server's CPU per call (from /proc) and how busy the machine was. Exit 0 when p95 meets the
target with no errors, 1 otherwise, 2 when set-up fails.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import load  # noqa: E402
from benchmarks import module_page as mp  # noqa: E402

TARGET_MS = 100.0


def measure(db: str, url: str, tmp: Path, calls: int, items: int) -> dict[str, Any]:
    data_dir = tmp / "data"
    prepared = load.prepare(url, data_dir, 0, max(items, 1))
    tokens = prepared.cert_tokens
    env = {
        **os.environ,
        "LMS_DATA_DIR": str(data_dir),
        "LMS_DATABASE_URL": url,
        "LMS_CONTENT_DIR": str(ROOT),
        "LMS_BASE_URL": load.BASE_URL,
    }
    with load.uvicorn_servers(env, 1, "ports", tmp / "server.log") as servers:
        pids = servers.pids()
        cpu0, busy0 = load.cpu_of(pids), mp.machine_busy_ticks()
        began = time.perf_counter()
        times, errors = asyncio.run(load.time_batch(servers.ports[0], tokens, calls))
        elapsed = time.perf_counter() - began
        cpu1, busy1 = load.cpu_of(pids), mp.machine_busy_ticks()
    server_cpu = sum(cpu1[p] - cpu0.get(p, cpu1[p]) for p in cpu1)
    return {
        "db": db,
        "items": items,
        "calls": len(times),
        "errors": errors,
        "p50_ms": load.pct(times, 50),
        "p95_ms": load.pct(times, 95),
        "p99_ms": load.pct(times, 99),
        "max_ms": max(times, default=float("nan")) * 1000,
        "server_cpu_ms_per_call": server_cpu / (calls + 3) * 1000,
        "machine_busy": (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
        "seconds": elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres", help="comma list: sqlite,postgres")
    parser.add_argument("--calls", type=int, default=100, help="measured calls per database")
    parser.add_argument("--items", type=int, default=100, help="tokens per call")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    facts = load.machine_facts()
    print(
        f"machine: {facts['cpus']} CPUs ({facts['cpu']}), Linux {facts['kernel']}, "
        f"Python {facts['python']}, load average {facts['loadavg']}",
        flush=True,
    )
    results = []
    for db in [d for d in args.db.split(",") if d]:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lms-verify-")))
            if db == "sqlite":
                url = f"sqlite:///{tmp / 'verify.sqlite3'}"
            elif db == "postgres":
                url = stack.enter_context(
                    mp.postgres_database(os.getenv("LMS_LOAD_POSTGRES_URL", load.DEFAULT_PG_URL))
                )
            else:
                mp.fail(f"unknown database {db!r}")
            print(f"\n{db}: preparing {args.items} certificates ...", flush=True)
            r = measure(db, url, tmp, args.calls, args.items)
            results.append(r)
            verdict = "PASS" if r["p95_ms"] < TARGET_MS and not r["errors"] else "FAIL"
            print(
                f"  {verdict} verify/batch x{r['items']}, {r['calls']} calls: p50 "
                f"{r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                f"max {r['max_ms']:.1f} ms; errors {r['errors']}; server CPU "
                f"{r['server_cpu_ms_per_call']:.1f} ms per call; machine "
                f"{r['machine_busy']:.0%} busy",
                flush=True,
            )
    if args.json:
        payload = {"date": datetime.now(UTC).date().isoformat(), "machine": facts}
        args.json.write_text(json.dumps({**payload, "results": results}, indent=2) + "\n")
    ok = all(r["p95_ms"] < TARGET_MS and not r["errors"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        code = main()
    except SystemExit:
        raise
    except Exception:
        import traceback

        traceback.print_exc()
        sys.exit(2)
    sys.exit(code)
