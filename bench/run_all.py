"""``make bench``: make sure the data set exists, then run every benchmark and print a
summary of the figures against the targets.

On PostgreSQL (DATABASE_URL=postgres://...) the data set is KAPULA_BENCH_TICKETS tickets
(default 1,000,000; generated with ``kapula generate_load_data`` when the database has
fewer). Without DATABASE_URL a separate SQLite file (var/bench.sqlite3, not the demo
database) gets a small data set (default 5,000 tickets): the figures then show that the
benchmarks run, not the targets, which are defined for PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, setup_django

SCRIPTS = ["queries.py", "pages.py", "api_create.py", "email_ingest.py", "open311.py", "routing.py",
           "sla.py", "kb.py"]


def main() -> int:
    if not os.environ.get("DATABASE_URL"):
        # keep benchmark data out of the demo database that `make run` uses
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"
        (ROOT / "var").mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "kapula", "migrate", "--no-input", "--verbosity", "0"],
                   check=True, cwd=ROOT)
    setup_django()
    from django.db import connection

    from kapula.core.models import Organisation
    from kapula.tickets.models import Ticket

    postgres = connection.vendor == "postgresql"
    default = "1000000" if postgres else "5000"
    wanted = int(os.environ.get("KAPULA_BENCH_TICKETS", default))
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    if not postgres:
        print(f"Not PostgreSQL: using a small data set of {wanted} tickets. The targets are "
              "for PostgreSQL with 1,000,000 tickets; set DATABASE_URL to measure them.")
    kapula = [sys.executable, "-m", "kapula"]
    subprocess.run([*kapula, "demo_data"], check=True, cwd=ROOT)
    org = Organisation.objects.get(slug="demola")
    have = Ticket.objects.filter(organisation=org).count()
    if have < wanted:
        print(f"{have} tickets, generating {wanted - have} more...")
        subprocess.run([*kapula, "generate_load_data", "--tickets", str(wanted - have)],
                       check=True, cwd=ROOT)
    else:
        print(f"{have} tickets in the demo organisation (wanted {wanted}): no generation")
    results = ROOT / "var" / "bench" / time.strftime("results-%Y%m%dT%H%M%SZ.json", time.gmtime())
    results.parent.mkdir(parents=True, exist_ok=True)
    os.environ["KAPULA_BENCH_RESULTS"] = str(results)  # the scripts append their figures
    here = Path(__file__).resolve().parent
    failed = []
    for script in SCRIPTS:
        print(f"\n== {script}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(here / script)], cwd=ROOT)
        print(f"== {script}: exit {done.returncode}, {time.perf_counter() - started:.0f} s")
        if done.returncode:
            failed.append(script)
    rows = json.loads(results.read_text()) if results.exists() else []
    print("\nSummary (targets apply to PostgreSQL with 1,000,000 tickets):")
    for row in rows:
        if "ok" not in row:
            continue
        figure = (f"p95 {row['p95']:.1f} {row['unit']}" if "p95" in row
                  else f"{row['value']:.0f} {row['unit']}")
        print(f"  {'OK    ' if row['ok'] else 'MISSED'} {row['name']}: {figure} "
              f"(target {row['target']})")
    print(f"\nAll figures: {results}")
    if failed:  # a benchmark that crashed (a missed target is not a failure)
        print(f"Failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
