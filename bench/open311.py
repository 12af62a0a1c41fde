"""The Open311 GeoReport v2 API.

1. POST /open311/v2/requests.json under gunicorn: client processes (or wrk, when installed,
   with 3 connections per client)
   post form-encoded service requests with an api_key, as mobile apps do
   (KAPULA_BENCH_GUNICORN_WORKERS, default 3; KAPULA_BENCH_O311_CLIENTS, default 2 per
   worker; KAPULA_BENCH_O311_REQUESTS, default 3000, for at most KAPULA_BENCH_O311_SECONDS,
   default 60). The figure is created requests per second of wall time. They go to an
   organisation of their own ("kapula-bench-o311"), so that the demo city's data set stays
   as it is.
2. GET /open311/v2/requests.json, server time in-process (django.test.Client, warm
   connection) with a variety of filters, against the demo city. When it has fewer than
   KAPULA_BENCH_O311_PUBLISHED published requests (default 100,000 on PostgreSQL, 2,000
   elsewhere), generated tickets get a form submission of a demo service offered in the app
   (one INSERT ... SELECT), so that the listing has realistic data behind it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from api_create import free_port, post_many, wait_ready
from common import ROOT, iterations, percentile, record, setup_django, timed

TARGET_POST_RATE = 300.0
TARGET_GET_MS = 50.0
POSTS = [
    ("Katuvalo ei pala bussipysäkillä.", "pimea", "61.4978", "23.7610"),
    ("Gatlyktan blinkar hela natten.", "vilkkuu", "60.1699", "24.9384"),
    ("The street light pole is leaning badly.", "pylvas", "65.0121", "25.4651"),
]


def _body(key: str, i: int) -> str:
    text, fault, lat, lon = POSTS[i % len(POSTS)]
    return urlencode({"api_key": key, "service_code": "katuvalo", "lat": lat, "long": lon,
                      "description": text, "attribute[vika]": fault,
                      "locale": ("fi", "sv", "en")[i % 3]})


def _post_body(key: str, offset: int, i: int) -> str:
    return _body(key, offset + i)


def client(args: tuple[int, str, int, float, int]) -> tuple[int, int, list[float]]:
    port, key, count, deadline, offset = args
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return post_many(port, "/open311/v2/requests.json", functools.partial(_post_body, key, offset),
                     headers, 200, count, deadline)


def _bench_service():  # type: ignore[no-untyped-def]
    """The organisation, service and client key the POST figure uses."""
    from kapula.catalogue.models import Service, ServiceField
    from kapula.core.models import Organisation, Team
    from kapula.intake.open311.actions import create_client

    org, _ = Organisation.objects.get_or_create(
        slug="kapula-bench-o311", defaults={"name": "Kuormitustesti (Open311)",
                                            "ticket_prefix": "BO311"})
    team, _ = Team.objects.get_or_create(
        organisation=org, slug="o311", defaults={"name_fi": "Kuormitustesti (Open311)",
                                                 "name_en": "Load test (Open311)"})
    if org.default_team_id is None:
        org.default_team = team
        org.save(update_fields=["default_team"])
    service, created = Service.objects.get_or_create(
        organisation=org, code="katuvalo", defaults={
            "name_fi": "Katuvalo ei toimi", "name_sv": "Gatubelysningen fungerar inte",
            "name_en": "Street light not working", "on_mobile": True, "team": team})
    if created:
        ServiceField.objects.create(
            service=service, code="vika", kind="choice", required=True, label_fi="Vika",
            label_sv="Fel", label_en="Fault", choices=[
                {"key": k, "fi": k, "sv": k, "en": k} for k in ("pimea", "vilkkuu", "pylvas")])
        ServiceField.objects.create(service=service, code="paikka", kind="location",
                                    required=True, label_fi="Sijainti", ordering=1)
    client_row, key = create_client(actor=None, organisation=org, name="benchmark")
    return org, client_row, key


def post_throughput() -> None:
    from kapula.intake.open311.models import Open311Client
    from kapula.tickets.models import Ticket

    org, client_row, key = _bench_service()
    workers = int(os.environ.get("KAPULA_BENCH_GUNICORN_WORKERS", "3"))
    total = int(os.environ.get("KAPULA_BENCH_O311_REQUESTS", "3000"))
    seconds = float(os.environ.get("KAPULA_BENCH_O311_SECONDS", "60"))
    clients = int(os.environ.get("KAPULA_BENCH_O311_CLIENTS", str(workers * 2)))
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    cmd = [gunicorn, "kapula.wsgi:application", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning"]
    env = {**os.environ, "KAPULA_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    before = Ticket.objects.filter(organisation=org).count()
    try:
        wait_ready(port, proc)
        list(multiprocessing.Pool(clients).map(  # warm every worker
            client, [(port, key, 10, time.time() + 30, i) for i in range(clients)]))
        wrk = shutil.which("wrk")
        if wrk:  # a load generator in C leaves nearly all of the machine to the server
            wall, wrk_note = run_wrk(wrk, port, key, min(seconds, 20.0), clients * 3)
            results = []
        else:
            per_client = max(1, total // clients)
            deadline = time.time() + seconds
            t0 = time.perf_counter()
            with multiprocessing.Pool(clients) as pool:
                results = pool.map(client, [(port, key, per_client, deadline, i)
                                            for i in range(clients)])
            wall = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        Open311Client.objects.filter(pk=client_row.pk).update(is_active=False)
    stored = Ticket.objects.filter(organisation=org).count() - before - 10 * clients
    if wrk:
        created, failed = stored, int("Non-2xx" in wrk_note)
        client_note = f"wrk, {clients * 3} connections, {wrk_note}"
    else:
        created = sum(r[0] for r in results)
        failed = sum(r[1] for r in results)
        latencies = [x for r in results for x in r[2]]
        client_note = (f"{clients} Python client processes sharing the cores (install wrk "
                       f"for a lighter load generator), latency p50 "
                       f"{percentile(latencies, 50):.1f} ms p95 "
                       f"{percentile(latencies, 95):.1f} ms")
    rate = created / wall
    note = (f"{created} created ({stored} tickets stored) in {wall:.1f} s, {failed} failed, "
            f"gunicorn {workers} sync workers, {client_note}")
    record("open311: POST requests.json under gunicorn", value=rate, unit="requests/s",
           target=f">= {TARGET_POST_RATE:.0f}/s",
           ok=rate >= TARGET_POST_RATE and not failed, note=note)


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local bodies = {%(bodies)s}
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n %% #bodies) + 1])
end
"""


def run_wrk(wrk: str, port: int, key: str, seconds: float, connections: int
            ) -> tuple[float, str]:
    """POST requests with wrk; return (seconds, a note with its latencies)."""
    bodies = ", ".join(f"[[{_body(key, i)}]]" for i in range(len(POSTS) * 3))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"bodies": bodies})
    t0 = time.perf_counter()
    out = subprocess.run(
        [wrk, "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", script.name,
         f"http://127.0.0.1:{port}/open311/v2/requests.json"],
        capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    wall = time.perf_counter() - t0
    os.unlink(script.name)
    lines = {line.split()[0]: line.split()[1] for line in out.splitlines()
             if line.strip().startswith(("50%", "99%"))}
    note = f"latency p50 {lines.get('50%', '?')} p99 {lines.get('99%', '?')}"
    if "Non-2xx" in out:
        note += "; " + next(line.strip() for line in out.splitlines() if "Non-2xx" in line)
    return wall, note


def ensure_published(org, wanted: int) -> int:  # type: ignore[no-untyped-def]
    """At least ``wanted`` published requests in ``org``: generated tickets without a form
    get a submission of a listed service (bulk SQL). Returns how many there are."""
    from django.db import connection, transaction

    from kapula.catalogue.models import FormSubmission
    from kapula.intake.open311.queries import listed_services
    from kapula.tickets.models import Ticket

    services = list(listed_services(org.pk).order_by("id").values_list("id", flat=True))
    if not services:
        raise SystemExit("the demo city offers no services in the app: run kapula demo_data")
    have = FormSubmission.objects.filter(service_id__in=services).count()
    need = wanted - have
    if need <= 0:
        return have
    free = Ticket.objects.filter(organisation=org, submission__isnull=True).count()
    step = max(1, free // need)  # spread over the whole history, not only the newest
    first, second = services[0], services[-1]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO catalogue_formsubmission (ticket_id, service_id, channel, language, "
            "answers, created_at) "
            "SELECT t.id, CASE WHEN t.id %% 3 = 0 THEN %s ELSE %s END, 'mobile_app', "
            "t.language, '[]', t.created_at FROM tickets_ticket t "
            "WHERE t.organisation_id = %s AND t.id %% %s = 0 AND NOT EXISTS ("
            "SELECT 1 FROM catalogue_formsubmission f WHERE f.ticket_id = t.id) "
            "ORDER BY t.id LIMIT %s",
            [second, first, org.pk, step, need])
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE catalogue_formsubmission")
    have = FormSubmission.objects.filter(service_id__in=services).count()
    print(f"published requests: {have} ({time.perf_counter() - t0:.1f} s to add)")
    return have


def get_latency() -> None:
    import datetime as dt

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from kapula.catalogue.models import FormSubmission
    from kapula.core.models import Organisation

    org = Organisation.objects.filter(slug="demola").first()
    if org is None:
        raise SystemExit("run `kapula demo_data` first")
    default = "100000" if connection.vendor == "postgresql" else "2000"
    published = ensure_published(org, int(os.environ.get("KAPULA_BENCH_O311_PUBLISHED",
                                                         default)))
    numbers = list(FormSubmission.objects.filter(ticket__organisation=org)
                   .order_by("-created_at").values_list("ticket__number", flat=True)[:500:50])
    year_ago = timezone.now() - dt.timedelta(days=365)
    window = (f"start_date={year_ago.date().isoformat()}&"
              f"end_date={(year_ago + dt.timedelta(days=30)).date().isoformat()}")
    base = "/open311/v2/requests.json?jurisdiction_id=demola"
    variants = {
        "default (90 days, <= 1000)": base,
        "status=open": base + "&status=open",
        "status=closed": base + "&status=closed",
        "service_code": base + "&service_code=katuvalo",
        "30 days a year ago": base + "&" + window,
        "extensions=true": base + "&extensions=true",
        "page_size=100&page=3": base + "&page_size=100&page=3",
        "XML": base.replace(".json", ".xml"),
        "service_request_id x10": base + "&service_request_id=" + ",".join(numbers),
        "one request": f"/open311/v2/requests/{numbers[0]}.json?jurisdiction_id=demola"
        if numbers else base,
    }
    client = Client()
    n = iterations()
    everything: list[float] = []
    for name, url in variants.items():
        def get(u: str = url) -> None:
            response = client.get(u)
            if response.status_code != 200:
                raise SystemExit(f"GET {u} answered {response.status_code}")

        samples = timed(get, n)
        everything += samples
        size = len(client.get(url).content)
        record(f"open311: GET requests {name}", samples,
               target=f"p95 <= {TARGET_GET_MS:.0f} ms",
               ok=percentile(samples, 95) <= TARGET_GET_MS, note=f"{size // 1024} KiB")
    record("open311: GET requests, all filters", everything,
           target=f"p95 <= {TARGET_GET_MS:.0f} ms",
           ok=percentile(everything, 95) <= TARGET_GET_MS,
           note=f"{published} published requests")


def main() -> None:
    setup_django()
    from django.urls import Resolver404, resolve

    try:
        resolve("/open311/v2/requests.json")
    except Resolver404:
        print("the Open311 API is not available yet: skipped")
        return
    from prepare import users

    users()  # the data set must exist
    if os.environ.get("KAPULA_BENCH_O311_SKIP_POST") != "1":
        post_throughput()
    get_latency()


if __name__ == "__main__":
    main()
