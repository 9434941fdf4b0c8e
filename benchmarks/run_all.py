# ruff: noqa: S603  (runs benchmarks/module_page.py and load.py with this interpreter)
"""`make bench`: the module-page benchmark on SQLite, then on PostgreSQL, then the load test.

Extra arguments go to each module-page run (``--seconds 5 --concurrency 16``); benchmarks/load.py
(the learner mix on 1 and 2 app processes, both databases) runs with its defaults and counts as
PASS when it had no errors (its targets are printed, not enforced). Exit 1 when a run misses
its target, and 2 (printed as a set-up error) when a database cannot be prepared, e.g. no
PostgreSQL at LMS_BENCH_POSTGRES_URL.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    extra = sys.argv[1:]
    outcomes: dict[str, str] = {}
    for db in ("sqlite", "postgres"):
        print(f"\n===== module page on {db} =====", flush=True)
        done = subprocess.run(
            [sys.executable, str(HERE / "module_page.py"), "--db", db, *extra],
            cwd=HERE.parent,
            check=False,
        )
        verdicts = {0: "PASS", 1: "FAIL"}
        outcomes[db] = verdicts.get(done.returncode, f"SET-UP ERROR (exit {done.returncode})")
    print("\n===== load test (learner mix, 1 and 2 processes, both databases) =====", flush=True)
    done = subprocess.run([sys.executable, str(HERE / "load.py")], cwd=HERE.parent, check=False)
    verdicts = {0: "PASS", 1: "FAIL (errors)"}
    outcomes["load"] = verdicts.get(done.returncode, f"SET-UP ERROR (exit {done.returncode})")
    print("\n" + "  ".join(f"{db}: {verdict}" for db, verdict in outcomes.items()))
    if all(v == "PASS" for v in outcomes.values()):
        return 0
    return 2 if any(v.startswith("SET-UP") for v in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
