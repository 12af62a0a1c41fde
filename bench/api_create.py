"""API ticket creation under gunicorn: POST /api/v1/tickets with a bearer token.

Starts gunicorn on a free loopback port (KAPULA_BENCH_GUNICORN_WORKERS, default 3; sync
workers, or gthread when KAPULA_BENCH_GUNICORN_THREADS > 1), then client processes
(KAPULA_BENCH_API_CLIENTS, default 2 per worker) send a bounded number of requests
(KAPULA_BENCH_API_REQUESTS, default 3000, for at most KAPULA_BENCH_API_SECONDS, default 60)
as {"title", "body", "channel": "api"} with a bearer token. The figure is created tickets
per second of wall time. The tickets go to an organisation of their own ("kapula-bench-api").
"""

from __future__ import annotations

import functools
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, percentile, record, setup_django

TARGET_RATE = 500.0
WORDS = [
    ("Katuvalo ei toimi", "Hämeenkadun katuvalo on ollut pimeänä viikon, korjatkaa pian."),
    ("Gatlyktan lyser inte", "Gatlyktan vid Kauppakatu är släckt sedan flera dagar."),
    ("Printer does not work", "The printer on the third floor shows a paper jam error."),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_many(port: int, path: str, bodies: Callable[[int], str], headers: dict[str, str],
              expected: int, count: int, deadline: float) -> tuple[int, int, list[float]]:
    """POST ``bodies(i)`` to ``path`` over one keep-alive connection, ``count`` times or until
    ``deadline``: (answers with the ``expected`` status, other answers and errors, latencies
    in ms). A dropped connection is opened again."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ok = failed = 0
    latencies = []
    for i in range(count):
        if time.time() > deadline:
            break
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body=bodies(i), headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            failed += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status == expected:
            ok += 1
        else:
            failed += 1
            if failed == 1:
                print(f"  unexpected answer {response.status}", flush=True)
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.close()
    return ok, failed, latencies


def _ticket_body(offset: int, i: int) -> str:
    title, body = WORDS[(offset + i) % len(WORDS)]
    return json.dumps({"title": title, "body": body, "channel": "api"})


def client(args: tuple[int, str, int, float, int]) -> tuple[int, int, list[float]]:
    port, token, count, deadline, offset = args
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return post_many(port, "/api/v1/tickets", functools.partial(_ticket_body, offset), headers,
                     201, count, deadline)


def wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    until = time.time() + seconds
    while time.time() < until:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def main() -> None:
    setup_django()
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/tickets")
    except Resolver404:
        print("API ticket creation is not available yet: skipped")
        return
    from prepare import users

    from kapula.core.actions import create_api_token
    from kapula.core.models import Membership, Organisation, Team, User

    users()  # the data set must exist
    # The created tickets go to an organisation of their own, so that repeated runs do not
    # add thousands of new tickets to the demo city's queues (and skew the queue figures).
    org, _ = Organisation.objects.get_or_create(
        slug="kapula-bench-api", defaults={"name": "Kuormitustesti (API)",
                                           "ticket_prefix": "BAPI"})
    team, _ = Team.objects.get_or_create(
        organisation=org, slug="api", defaults={"name_fi": "Kuormitustesti (API)",
                                                "name_en": "Load test (API)"})
    if org.default_team_id is None:
        org.default_team = team
        org.save(update_fields=["default_team"])
    user = User.objects.filter(username="bench-api").first()
    if user is None:
        user = User.objects.create_user(username="bench-api", organisation=org)
        Membership.objects.create(user=user, team=team)
    token, raw = create_api_token(actor=None, user=user, name="benchmark")
    workers = int(os.environ.get("KAPULA_BENCH_GUNICORN_WORKERS", "3"))
    threads = int(os.environ.get("KAPULA_BENCH_GUNICORN_THREADS", "1"))
    # sync workers close each connection, so every request goes to whichever worker is
    # free; with gthread, one worker accepts all keep-alive connections of a few clients
    # and the others idle (measured: 72 % vs 6 % CPU)
    worker_class = os.environ.get("KAPULA_BENCH_GUNICORN_CLASS",
                                  "sync" if threads == 1 else "gthread")
    total = int(os.environ.get("KAPULA_BENCH_API_REQUESTS", "3000"))
    seconds = float(os.environ.get("KAPULA_BENCH_API_SECONDS", "60"))
    clients = int(os.environ.get("KAPULA_BENCH_API_CLIENTS", str(workers * 2)))
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn, "kapula.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
           "--keep-alive", "30", "--log-level", "warning"]
    env = {**os.environ, "KAPULA_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    wrk = shutil.which("wrk")
    from kapula.tickets.models import Ticket

    before = Ticket.objects.filter(organisation=org).count()
    try:
        wait_ready(port, proc)
        # warm every worker (imports, language model, connections)
        list(multiprocessing.Pool(clients).map(
            client, [(port, raw, 20, time.time() + 30, i) for i in range(clients)]))
        if wrk:
            # wrk (C) as the load generator: it needs a few per cent of a core, so nearly
            # all of the machine serves the requests
            wall, latency_note = run_wrk(wrk, port, raw, min(seconds, 20.0), clients * 3)
            results = []
        else:
            per_client = max(1, total // clients)
            deadline = time.time() + seconds
            t0 = time.perf_counter()
            with multiprocessing.Pool(clients) as pool:
                results = pool.map(client, [(port, raw, per_client, deadline, i)
                                            for i in range(clients)])
            wall = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        from kapula.core.actions import revoke_api_token

        revoke_api_token(actor=user, token=token)
    if wrk:
        created = Ticket.objects.filter(organisation=org).count() - before - 20 * clients
        failed = 0 if "Non-2xx" not in latency_note else 1
        client_note = f"wrk, {clients * 3} connections, {latency_note}"
    else:
        created = sum(r[0] for r in results)
        failed = sum(r[1] for r in results)
        latencies = [x for r in results for x in r[2]]
        client_note = (f"{clients} Python client processes sharing the 2 cores (install wrk "
                       f"for a lighter load generator), latency p50 "
                       f"{percentile(latencies, 50):.1f} ms p95 "
                       f"{percentile(latencies, 95):.1f} ms")
    rate = created / wall
    note = (f"{created} created in {wall:.1f} s, {failed} failed, gunicorn {workers} "
            f"{worker_class} workers x {threads} threads, {client_note}")
    record("api: ticket creation under gunicorn", value=rate, unit="tickets/s",
           target=f">= {TARGET_RATE:.0f}/s", ok=rate >= TARGET_RATE and not failed, note=note)


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local bodies = {%(bodies)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n %% #bodies) + 1])
end
"""


def run_wrk(wrk: str, port: int, token: str, seconds: float, connections: int
            ) -> tuple[float, str]:
    """Run wrk against the create endpoint; return (seconds, a note with latencies)."""
    bodies = ", ".join(
        "[[" + json.dumps({"title": t, "body": b, "channel": "api"}, ensure_ascii=False) + "]]"
        for t, b in WORDS)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"token": token, "bodies": bodies})
    t0 = time.perf_counter()
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", script.name,
         f"http://127.0.0.1:{port}/api/v1/tickets"],
        capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    wall = time.perf_counter() - t0
    os.unlink(script.name)
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()
             if line.strip().startswith(("50%", "99%"))}
    note = f"latency p50 {lines.get('50%', '?')} p99 {lines.get('99%', '?')}"
    if "Non-2xx" in out:
        note += "; " + next(line.strip() for line in out.splitlines() if "Non-2xx" in line)
    return wall, note

if __name__ == "__main__":
    main()
