"""Email ingest: parse and store typical messages through the email channel's one path.

Writes KAPULA_BENCH_MAIL_MESSAGES (default 4000) generated messages as .eml files, then
KAPULA_BENCH_MAIL_WORKERS processes (default 2, one per core: a site runs one fetcher per
mailbox, and the LMTP listener takes deliveries in parallel) each call ``ingest()`` on
their share. Every message is parsed, its original stored, its ticket created or continued
and its log row written, in one committed transaction each, as in production.

The mix: 55 % new contacts (multipart/alternative text + HTML with a signature), 25 %
replies to an earlier ticket (ticket number in the subject, quoted text to strip), 10 %
with a 30 KB PDF attachment, 5 % forwarded mail, 5 % out-of-office replies; Finnish,
Swedish and English. The figure is messages per second of wall time; the target is >= 200
on PostgreSQL on a 2-core machine. The single-process parse time is printed too.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from common import ROOT, percentile, record, setup_django

TARGET_RATE = 200.0
ORG_SLUG = "kapula-bench-mail"
ADDRESS = "bench@kapula-bench-mail.example"

TEXTS = {
    "fi": ("Katuvalo rikki", "Hei,\n\nHämeenkadun ja Kuninkaankadun kulmassa oleva katuvalo on "
           "ollut pimeänä jo viikon. Illalla pyörätiellä on vaarallisen pimeää.\nVoisitteko "
           "korjata sen pian?\n\nYstävällisin terveisin\n{name}\n"),
    "sv": ("Gatubelysningen är trasig", "Hej,\n\ngatubelysningen vid hörnet av Tavastgatan "
           "har varit släckt i en vecka. På kvällen är det farligt mörkt på cykelvägen.\nKan "
           "ni laga den snart?\n\nMed vänliga hälsningar\n{name}\n"),
    "en": ("Street light broken", "Hello,\n\nthe street light at the corner of the main "
           "street has been dark for a week. In the evening the cycle path is dangerously "
           "dark.\nCould you fix it soon?\n\nBest regards\n{name}\n"),
}
NAMES = ["Maija Virtanen", "Sven Lindqvist", "Anna Smith", "Pekka Korhonen", "Eva Nyström"]


def _message(i: int, rng: random.Random, numbers: list[tuple[str, str]]) -> bytes:
    lang = rng.choice(["fi", "fi", "fi", "sv", "en"])
    subject, body = TEXTS[lang]
    name = rng.choice(NAMES)
    sender = f"asukas{i % 1500}@example.fi"
    m = EmailMessage()
    m["From"] = f"{name} <{sender}>"
    m["To"] = ADDRESS
    m["Date"] = format_datetime(datetime.now().astimezone())
    m["Message-ID"] = make_msgid(idstring=f"b{i}", domain="example.fi")
    m["MIME-Version"] = "1.0"
    roll = rng.random()
    text = body.format(name=name)
    if roll < 0.25 and not numbers:
        roll = 0.5  # nothing to reply to yet: a new contact
    if roll < 0.25:
        number, sender = rng.choice(numbers)  # the ticket's own customer answers
        m.replace_header("From", f"{name} <{sender}>")
        m["Subject"] = f"Re: [{number}] {subject}"
        text = ("Kiitos vastauksesta, valo vilkkuu edelleen.\n\n"
                f"ma 23.11.2026 klo 10.00 Palvelu <{ADDRESS}> kirjoitti:\n"
                + "".join(f"> {line}\n" for line in body.format(name="Palvelu").splitlines()))
    elif roll < 0.30:
        m["Subject"] = f"Automaattinen vastaus: {subject}"
        m["Auto-Submitted"] = "auto-replied"
        text = "Olen lomalla 30.11. asti. Kiireellisissä asioissa ota yhteyttä vaihteeseen."
    elif roll < 0.35:
        m["Subject"] = f"VL: {subject}"
        text = ("Välitän tämän teille.\n\n---------- Forwarded message ---------\n"
                f"From: {name} <{sender}>\nSubject: {subject}\n\n{text}")
    else:
        m["Subject"] = subject
    m.set_content(text)
    html = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
    m.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    if 0.35 <= roll < 0.45:
        pdf = b"%PDF-1.4\n" + bytes(rng.getrandbits(8) for _ in range(30_000))
        m.add_attachment(pdf, maintype="application", subtype="pdf", filename="valokuva.pdf")
    return m.as_bytes()


def _worker(paths: list[str], mailbox_id: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    setup_django()
    from kapula.intake.mail.ingest import ingest
    from kapula.intake.mail.models import Mailbox

    mailbox = Mailbox.objects.select_related("organisation").get(pk=mailbox_id)
    latencies = []
    outcomes: dict[str, int] = {}
    for path in paths:
        raw = Path(path).read_bytes()
        t0 = time.perf_counter()
        result = ingest(raw, mailbox=mailbox, source="bench")
        latencies.append((time.perf_counter() - t0) * 1000)
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    out.put((latencies, outcomes))


def main() -> int:
    setup_django()
    from django.db import connection

    from kapula.core.models import Organisation, Team
    from kapula.intake.mail.models import Mailbox
    from kapula.intake.mail.parse import parse_email
    from kapula.tickets.models import Ticket

    count = int(os.environ.get("KAPULA_BENCH_MAIL_MESSAGES", "4000"))
    workers = int(os.environ.get("KAPULA_BENCH_MAIL_WORKERS", "2"))
    org, _ = Organisation.objects.get_or_create(
        slug=ORG_SLUG, defaults={"name": "Bench mail", "ticket_prefix": "BML"})
    team, _ = Team.objects.get_or_create(organisation=org, slug="desk",
                                         defaults={"name_fi": "Palvelu"})
    mailbox, _ = Mailbox.objects.get_or_create(
        address=ADDRESS, defaults={"organisation": org, "name": "Bench", "kind": "lmtp",
                                   "team": team, "rate_limit_per_hour": 0})
    numbers = [(number, email) for number, email in Ticket.objects.filter(
        organisation=org, customer__isnull=False, status="new").order_by("-id").values_list(
        "number", "customer__contacts__value")[:500] if email]
    rng = random.Random(os.getpid() ^ int(time.time()))
    with tempfile.TemporaryDirectory(prefix="kapula-bench-mail-") as tmp:
        paths = []
        sizes = []
        for i in range(count):
            raw = _message(i, rng, numbers)
            sizes.append(len(raw))
            path = Path(tmp) / f"{i:06d}.eml"
            path.write_bytes(raw)
            paths.append(str(path))
        # parsing alone, one process
        sample = [Path(p).read_bytes() for p in paths[:500]]
        t0 = time.perf_counter()
        for raw in sample:
            parse_email(raw)
        parse_ms = (time.perf_counter() - t0) * 1000 / len(sample)
        record("email parse only (one process)", value=parse_ms, unit="ms/message",
               note=f"mean size {sum(sizes) / len(sizes) / 1024:.1f} KB")
        connection.close()
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(paths[k::workers], mailbox.pk, queue))
                 for k in range(workers)]
        started = time.perf_counter()
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        wall = time.perf_counter() - started
    latencies = [x for lat, _ in results for x in lat]
    outcomes: dict[str, int] = {}
    for _, out in results:
        for key, value in out.items():
            outcomes[key] = outcomes.get(key, 0) + value
    rate = len(latencies) / wall
    print(f"database: {connection.vendor}; {len(latencies)} messages in {wall:.1f} s with "
          f"{workers} processes; outcomes {outcomes}")
    record("email ingest, parse + store (per message)", latencies, unit="ms")
    record("email ingest rate", value=rate, unit="messages/s", target=f">= {TARGET_RATE:.0f}",
           ok=rate >= TARGET_RATE,
           note=f"{workers} processes, p95 {percentile(latencies, 95):.1f} ms per message")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    raise SystemExit(main())
