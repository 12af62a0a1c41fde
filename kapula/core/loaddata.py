"""Fast bulk data for benchmarks (``kapula generate_load_data``).

This bypasses the actions on purpose: it writes rows that look exactly like the ones the
actions write (tickets, their conversation, history and the search index) but in bulk —
PostgreSQL ``COPY`` (psycopg 3), plain multi-row inserts on SQLite. Ticket numbers come
from :func:`kapula.tickets.numbering.reserve_block`, so tickets created later through the
actions never collide with generated ones.

Text is made of real Finnish, Swedish and English words, with a skewed word frequency (a
few very common words, a long tail of rare ones) so that searches behave like real ones.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kapula.core.models import Customer, CustomerContact, Membership, Organisation, Team
from kapula.tickets import numbering, search
from kapula.tickets.models import (
    DEFAULT_MATRIX,
    Category,
    HistoryEntry,
    Message,
    Ticket,
    TicketType,
)

# --- vocabulary ----------------------------------------------------------------------------------

SUBJECTS = {
    "fi": ["katuvalo", "tulostin", "salasana", "päiväkotipaikka", "uimahalli", "jäteastia",
           "pysäköintilupa", "kirjastokortti", "sähköposti", "kannettava tietokone",
           "VPN-yhteys", "puhelinliittymä", "jalkakäytävä", "kävelytie", "leikkipuisto",
           "bussipysäkki", "liikennevalo", "katukyltti", "lumiaura", "hiekoitus",
           "verkkolevy", "käyttäjätunnus", "näyttö", "palkkajärjestelmä", "lomakepalvelu",
           "asiakasrekisteri", "kuntosali", "koulukuljetus", "rakennuslupa", "vesimittari",
           "ajanvaraus", "etäyhteys", "mobiilisovellus", "laskutus", "opiskelijakortti"],
    "sv": ["gatlyktan", "skrivaren", "lösenordet", "dagisplatsen", "simhallen", "sopkärlet",
           "parkeringstillståndet", "bibliotekskortet", "e-posten", "datorn", "VPN-anslutningen",
           "trottoaren", "lekparken", "busshållplatsen", "trafikljuset", "snöplogen",
           "sandningen", "användarkontot", "bildskärmen", "lönesystemet", "blanketten",
           "bygglovet", "vattenmätaren", "tidsbokningen", "appen", "fakturan"],
    "en": ["street light", "printer", "password", "day care place", "swimming hall",
           "waste bin", "parking permit", "library card", "email", "laptop", "VPN connection",
           "pavement", "playground", "bus stop", "traffic light", "snow plough", "gritting",
           "user account", "monitor", "payroll system", "online form", "building permit",
           "water meter", "appointment booking", "mobile app", "invoice", "student card"],
}
PROBLEMS = {
    "fi": ["ei toimi", "on rikki", "ei käynnisty", "katkeilee", "on pimeänä", "vuotaa",
           "on täynnä", "on vanhentunut", "ei aukea", "antaa virheilmoituksen",
           "on hidas", "puuttuu", "on väärin", "on vaurioitunut", "on liukas"],
    "sv": ["fungerar inte", "är trasig", "startar inte", "bryts hela tiden", "är släckt",
           "läcker", "är full", "har gått ut", "öppnas inte", "ger ett felmeddelande",
           "är långsam", "saknas", "är fel", "är skadad", "är hal"],
    "en": ["does not work", "is broken", "will not start", "keeps dropping", "is dark",
           "is leaking", "is full", "has expired", "will not open", "shows an error",
           "is slow", "is missing", "is wrong", "is damaged", "is slippery"],
}
SENTENCES = {
    "fi": ["Hei, {s} {p} jo toista päivää.", "Voisitteko tarkistaa asian mahdollisimman pian?",
           "Kiitos nopeasta vastauksesta!", "Ongelma alkoi eilen iltapäivällä.",
           "Olen yrittänyt käynnistää uudelleen, mutta {s} {p} edelleen.",
           "Asia koskee osoitetta {street} {num}.", "Milloin korjaus tehdään?",
           "Tarvitsen apua, koska {s} {p}.", "Liitteenä kuva tilanteesta.",
           "Soittakaa minulle, jos tarvitsette lisätietoja.", "Asia on ratkaistu, kiitos.",
           "Välitimme pyynnön eteenpäin asiantuntijoille.", "Korjaus on tehty, voitte kokeilla.",
           "Pahoittelemme viivettä.", "Tarkistimme asian ja {s} on nyt kunnossa.",
           "Vika on ilmoitettu urakoitsijalle.", "Ystävällisin terveisin, {name}",
           "Sama ongelma on myös naapurilla.", "Tämä on jo kolmas kerta tänä vuonna.",
           "Hakemus on käsittelyssä.", "Lisätietoja saa palvelupisteestä."],
    "sv": ["Hej, {s} {p} sedan i går.", "Kan ni kontrollera saken så snart som möjligt?",
           "Tack för snabbt svar!", "Problemet började i går eftermiddag.",
           "Jag har försökt starta om, men {s} {p} fortfarande.",
           "Det gäller adressen {street} {num}.", "När blir det reparerat?",
           "Jag behöver hjälp eftersom {s} {p}.", "Bifogar en bild.",
           "Ring mig om ni behöver mer information.", "Ärendet är löst, tack.",
           "Vi har skickat begäran vidare till specialisterna.", "Felet är åtgärdat.",
           "Vi beklagar dröjsmålet.", "Med vänliga hälsningar, {name}",
           "Grannen har samma problem.", "Ansökan behandlas."],
    "en": ["Hello, the {s} {p} since yesterday.", "Could you please look into this soon?",
           "Thank you for the quick reply!", "The problem started yesterday afternoon.",
           "I have tried restarting, but the {s} still {p}.",
           "This concerns the address {street} {num}.", "When will it be fixed?",
           "I need help because the {s} {p}.", "A photo is attached.",
           "Please call me if you need more details.", "The matter is solved, thank you.",
           "We have forwarded the request to our specialists.", "The fault has been fixed.",
           "We apologise for the delay.", "Kind regards, {name}",
           "My neighbour has the same problem.", "The application is being processed."],
}
#: rarer words: places, products and names that make selective searches
RARE = ["Hervanta", "Kaleva", "Tesoma", "Lielahti", "Annala", "Pispala", "Härmälä", "Vuores",
        "Nekala", "Kissanmaa", "Sorila", "Multisilta", "Hallila", "Peltolammi", "Linnainmaa",
        "Raholankatu", "Sammonkatu", "Teiskontie", "Ratinanranta", "Sorsapuisto",
        "Lexmark", "Kyocera", "ThinkPad", "Latitude", "Outlook", "Teams", "SharePoint",
        "Primus", "Wilma", "Pegasos", "Effica", "Abilita", "Dynasty", "Logica", "Certia",
        "Sarastia", "Granlund", "Lemminkäinen", "Destia", "Caverion"]
#: words that occur in a few hundred tickets of a million: the selective end of searches
VERY_RARE = ["hulevesikaivo", "viemärinkansi", "ulkokuntosali", "pelastustie", "opastetaulu",
             "kuntoportaat", "brunnslock", "utegym", "räddningsväg", "papperskorg",
             "manhole", "graffiti", "noticeboard", "defibrillator", "skatepark"]
STREETS = ["Hämeenkatu", "Kauppakatu", "Satamakatu", "Koulukatu", "Puistokatu", "Rantakatu",
           "Asemakatu", "Linnankatu", "Torikatu", "Kirkkokatu", "Rautatienkatu", "Pyynikintie",
           "Sairaalankatu", "Aleksanterinkatu", "Itsenäisyydenkatu", "Tampereentie"]
FIRST = ["Matti", "Liisa", "Juha", "Sari", "Timo", "Anne", "Mikko", "Päivi", "Ville", "Heidi",
         "Erik", "Anna", "Johan", "Maria", "Lars", "Karin", "James", "Olivia", "Daniel",
         "Grace", "Aino", "Eino", "Helmi", "Onni", "Venla", "Leevi", "Ella", "Eetu"]
LAST = ["Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Heikkinen", "Koskinen", "Järvinen",
        "Lehtonen", "Lindholm", "Sjöberg", "Smith", "Taylor", "Rantanen", "Salminen", "Laine",
        "Hämäläinen", "Kallio", "Tuominen", "Wikström", "Nyström", "Khan", "Peltonen"]

CHANNELS = [("email", 30), ("web_form", 20), ("phone", 14), ("chat", 8), ("mobile_app", 7),
            ("walk_in", 5), ("chatbot", 4), ("social_media", 3), ("api", 3),
            ("partner_desk", 2), ("monitoring", 3)]
LANGUAGES = [("fi", 75), ("sv", 15), ("en", 10)]
LEVELS = [("high", 15), ("medium", 60), ("low", 25)]
ACTIVE = ["new", "open", "pending_customer", "pending_third_party"]
AUTO_CLOSE_DAYS = 7
STALE_SHARE = 0.002


@dataclass
class LoadSummary:
    tickets: int
    messages: int
    history: int
    customers: int
    seconds: float


def _zipf_weights(n: int) -> list[float]:
    return [1.0 / (i + 1) for i in range(n)]


class _Text:
    """Cheap generator of believable sentences (pre-built pools, random picks)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pools: dict[str, list[str]] = {}
        self.titles: dict[str, list[str]] = {}
        for lang in ("fi", "sv", "en"):
            subjects, problems = SUBJECTS[lang], PROBLEMS[lang]
            sw = _zipf_weights(len(subjects))
            pool = []
            for _ in range(6000):
                s = rng.choices(subjects, sw)[0]
                p = rng.choice(problems)
                sentence = rng.choice(SENTENCES[lang]).format(
                    s=s, p=p, street=rng.choice(STREETS), num=rng.randint(1, 120),
                    name=f"{rng.choice(FIRST)} {rng.choice(LAST)}")
                if rng.random() < 0.15:
                    sentence += " " + rng.choice(RARE)
                pool.append(sentence)
            for word in VERY_RARE:  # once each in the pool: ~1 in 20,000 sentences
                pool.append(rng.choice(pool) + " " + word)
            self.pools[lang] = pool
            titles = []
            for _ in range(3000):
                s = rng.choices(subjects, sw)[0]
                title = f"{s[0].upper()}{s[1:]} {rng.choice(problems)}"
                if rng.random() < 0.1:
                    title += f" ({rng.choice(RARE)})"
                titles.append(title)
            self.titles[lang] = titles

    def title(self, lang: str) -> str:
        return self.rng.choice(self.titles[lang])

    def body(self, lang: str) -> str:
        pool = self.pools[lang]
        return " ".join(self.rng.choice(pool) for _ in range(self.rng.randint(1, 3)))


def _weighted(rng: random.Random, items: Sequence[tuple[Any, int]], k: int) -> list[Any]:
    values, weights = zip(*items, strict=True)
    return rng.choices(values, weights, k=k)


# --- writers ----------------------------------------------------------------------------------


class _Writer:
    """COPY on PostgreSQL, executemany of INSERTs elsewhere."""

    def __init__(self) -> None:
        self.pg = connection.vendor == "postgresql"

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        n = 0
        with connection.cursor() as cur:
            if self.pg:
                raw = cur.cursor  # the psycopg 3 cursor under Django's wrapper
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        n += 1
            else:
                marks = ", ".join(["%s"] * len(columns))
                batch = list(rows)
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                                batch)
                n = len(batch)
        return n


def _columns(model: type, *, with_id: bool = True) -> list[str]:
    fields = model._meta.concrete_fields  # type: ignore[attr-defined]
    return [str(f.column) for f in fields if with_id or f.column != "id"]


def _reserve_ids(model: type, count: int) -> int:
    """Reserve ``count`` primary keys; returns the first."""
    table = model._meta.db_table  # type: ignore[attr-defined]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            seq = cur.fetchone()[0]
            cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            current_max = int(cur.fetchone()[0])
            cur.execute("SELECT nextval(%s)", [seq])
            start = max(int(cur.fetchone()[0]), current_max + 1)
            cur.execute("SELECT setval(%s, %s)", [seq, start + count - 1])
            return start
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        return int(cur.fetchone()[0]) + 1


# --- the generator -----------------------------------------------------------------------------


def generate(
    organisation: Organisation, *, tickets: int, messages_per_ticket: float = 3.0,
    years: float = 3.0, seed: int = 1, batch: int = 20_000,
    progress: Callable[[str], None] | None = None,
) -> LoadSummary:
    """Add ``tickets`` tickets (with conversations, history and search rows) to
    ``organisation``. Not one transaction: each batch commits, so that a million tickets
    do not need one huge transaction."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    rng = random.Random(seed)
    text = _Text(rng)
    writer = _Writer()
    org_id = organisation.pk
    teams = list(Team.objects.filter(organisation=organisation, is_active=True))
    if not teams:
        raise ValueError("the organisation has no teams")
    members: dict[int, list[int]] = {t.pk: [] for t in teams}
    for team_id, user_id in Membership.objects.filter(team__in=teams).values_list(
            "team_id", "user_id"):
        members[team_id].append(user_id)
    types = list(TicketType.objects.filter(organisation=organisation).values_list("id",
                                                                                  flat=True))
    cats_by_team: dict[int | None, list[int]] = {}
    all_cats = list(Category.objects.filter(organisation=organisation).values_list(
        "id", "default_team_id"))
    for cat_id, team_id in all_cats:
        cats_by_team.setdefault(team_id, []).append(cat_id)
    team_weights = [(t.pk, 4 if t.tier == "front" else 2 if t.tier == "specialist" else 1)
                    for t in teams]

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET synchronous_commit = off")

    # customers: a pool, so that customers come back with new matters
    n_customers = max(10, min(tickets // 8, 100_000))
    customers = _customers(organisation, n_customers, rng, writer, say)
    customer_ids = list(customers)

    # creation times over ``years``, office hours more likely; numbers follow time
    now = timezone.now()
    span = years * 365 * 86400
    times = sorted(now.timestamp() - span * (rng.random() ** 0.9) for _ in range(tickets))
    tz = timezone.get_current_timezone()
    per_year = Counter(dt.datetime.fromtimestamp(t, tz).year for t in times)
    next_seq: dict[int, int] = {}
    with transaction.atomic():
        for year, count in per_year.items():
            next_seq[year] = numbering.reserve_block(organisation, year, count)
        first_id = _reserve_ids(Ticket, tickets)
    say(f"reserved {tickets} numbers and ids from {first_id} "
        f"({time.perf_counter() - started:.1f} s)")

    t_cols = _columns(Ticket)
    m_cols = _columns(Message, with_id=False)
    h_cols = _columns(HistoryEntry, with_id=False)
    totals = Counter[str]()
    prefix = organisation.ticket_prefix
    mean_extra = max(0.0, messages_per_ticket - 1)
    for b0 in range(0, tickets, batch):
        b1 = min(tickets, b0 + batch)
        t_rows: list[tuple[Any, ...]] = []
        m_rows: list[tuple[Any, ...]] = []
        h_rows: list[tuple[Any, ...]] = []
        s_rows: list[search.IndexRow] = []
        k = b1 - b0
        channels = _weighted(rng, CHANNELS, k)
        langs = _weighted(rng, LANGUAGES, k)
        impacts = _weighted(rng, LEVELS, k)
        urgencies = _weighted(rng, LEVELS, k)
        team_ids = _weighted(rng, team_weights, k)
        for i in range(k):
            n = b0 + i
            tid = first_id + n
            created = dt.datetime.fromtimestamp(times[n], tz)
            year = created.year
            number = numbering.format_number(prefix, year, next_seq[year])
            next_seq[year] += 1
            age_days = (now - created).total_seconds() / 86400
            # lifecycle: solved after a few days (a long tail takes weeks), closed
            # automatically a week after; a few old tickets are forgotten in the queues
            solve_days = rng.expovariate(1 / (30 if rng.random() < 0.05 else 3))
            if rng.random() < STALE_SHARE:
                status = rng.choice(["open", "pending_third_party", "pending_customer"])
            elif age_days < solve_days:
                status = "new" if age_days < 0.3 and rng.random() < 0.6 else rng.choice(
                    ACTIVE)
            elif age_days < solve_days + AUTO_CLOSE_DAYS:
                status = "resolved"
            else:
                status = "closed"
            lang, channel, team_id = langs[i], channels[i], team_ids[i]
            staff = members[team_id]
            assignee = rng.choice(staff) if staff and (
                status not in ("new",) and rng.random() < 0.85) else None
            impact, urgency = impacts[i], urgencies[i]
            customer_id = None if channel == "monitoring" else rng.choice(customer_ids)
            cats = cats_by_team.get(team_id) or [c for c, _t in all_cats]
            title = text.title(lang)
            # conversation
            n_msgs = 1 + min(int(rng.expovariate(1 / mean_extra) + 0.5) if mean_extra else 0, 40)
            when = created
            bodies = []
            first_response = None
            for j in range(n_msgs):
                if j == 0:
                    kind, author = "inbound", "customer"
                else:
                    r = rng.random()
                    kind, author = (("reply", "agent") if r < 0.5 else ("inbound", "customer")
                                    if r < 0.85 else ("note", "agent"))
                    when = when + dt.timedelta(minutes=rng.expovariate(1 / 600))
                body = text.body(lang)
                if kind != "note":
                    bodies.append(body)
                if kind == "reply" and first_response is None:
                    first_response = when
                m_rows.append((
                    tid, kind, channel if kind != "note" else "internal", author,
                    (assignee if author == "agent" else None),
                    customer_id if author == "customer" else None, "", body,
                    f"<p>{html.escape(body)}</p>", lang if kind != "note" else "", "", when,
                ))
            updated = when
            resolved_at = closed_at = None
            if status in ("resolved", "closed"):
                resolved_at = max(updated, created + dt.timedelta(days=solve_days))
                updated = resolved_at
                if status == "closed":
                    closed_at = resolved_at + dt.timedelta(days=AUTO_CLOSE_DAYS)
                    updated = closed_at
            if updated > now:
                updated = now
            h_rows.append((tid, None, channel, created, "created", "", number))
            if assignee:
                h_rows.append((tid, assignee, "", created + dt.timedelta(minutes=5),
                               "assignee", "", f"#{assignee}"))
            if status != "new":
                h_rows.append((tid, assignee, "", updated, "status", "new", status))
            row = {
                "id": tid, "organisation_id": org_id, "number": number,
                "ticket_type_id": rng.choice(types) if types else None,
                "category_id": rng.choice(cats) if cats else None, "title": title,
                "status": status, "impact": impact, "urgency": urgency,
                "priority": DEFAULT_MATRIX[(impact, urgency)], "channel": channel,
                "language": lang, "team_id": team_id, "assignee_id": assignee,
                "customer_id": customer_id, "parent_id": None, "merged_into_id": None,
                "latitude": None, "longitude": None, "etrs_n": None, "etrs_e": None,
                "address": "", "first_contact_resolution": channel in ("walk_in", "phone")
                and n_msgs == 1 and status == "closed",
                "created_by_id": None, "created_at": created, "updated_at": updated,
                "first_response_at": first_response, "resolved_at": resolved_at,
                "closed_at": closed_at,
                "message_count": n_msgs,
                "version": 1 + n_msgs,
                "sla_due_at": None, "sla_state": "",  # clocks: bench/sla.py adds them
            }
            t_rows.append(tuple(row[c] for c in t_cols))
            s_rows.append(search.IndexRow(
                ticket_id=tid, organisation_id=org_id, team_id=team_id, assignee_id=assignee,
                created_at=created, language=lang, title=f"{title} {number}",
                body="\n".join([customers.get(customer_id or 0, ""), *bodies])))
        with transaction.atomic():
            totals["tickets"] += writer.write(Ticket._meta.db_table, t_cols, t_rows)
            totals["messages"] += writer.write(Message._meta.db_table, m_cols, m_rows)
            totals["history"] += writer.write(HistoryEntry._meta.db_table, h_cols, h_rows)
            _index(writer, s_rows)
        elapsed = time.perf_counter() - started
        say(f"{b1} tickets, {totals['messages']} messages ({elapsed:.1f} s, "
            f"{b1 / max(elapsed, 1e-9):.0f} tickets/s)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in ("tickets_ticket", "tickets_message", "tickets_historyentry",
                          "tickets_search", "core_customer", "core_customercontact"):
                cur.execute(f"ANALYZE {table}")
    return LoadSummary(totals["tickets"], totals["messages"], totals["history"], n_customers,
                       time.perf_counter() - started)


def _customers(organisation: Organisation, count: int, rng: random.Random, writer: _Writer,
               say: Callable[[str], None]) -> dict[int, str]:
    """A pool of customers; returns id -> the words the search index holds for them."""
    token = f"{rng.getrandbits(32):08x}"
    with transaction.atomic():
        first = _reserve_ids(Customer, count)
        now = timezone.now()
        langs = _weighted(rng, LANGUAGES, count)
        rows = []
        contacts = []
        words: dict[int, str] = {}
        for i in range(count):
            cid = first + i
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            rows.append((cid, organisation.pk, name, langs[i], None, "", None, now))
            email = f"asiakas.{token}.{i}@example.fi"
            contacts.append((organisation.pk, cid, "email", email, email, None, ""))
            words[cid] = f"{name} {email}"
        writer.write(Customer._meta.db_table, _columns(Customer), rows)
        writer.write(CustomerContact._meta.db_table, _columns(CustomerContact, with_id=False),
                     contacts)
    say(f"{count} customers")
    return words


def _index(writer: _Writer, rows: list[search.IndexRow]) -> None:
    """Search rows: on PostgreSQL COPY the text into a temporary table and build the
    tsvectors in SQL (one statement per batch); elsewhere the normal upsert."""
    if not writer.pg:
        search.upsert(rows)
        return
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS kapula_search_stage (ticket_id bigint, "
            "organisation_id bigint, team_id bigint, assignee_id bigint, created_at timestamptz,"
            " cfg regconfig, title text, body text) ON COMMIT DELETE ROWS")
    writer.write("kapula_search_stage", ["ticket_id", "organisation_id", "team_id",
                                         "assignee_id", "created_at", "cfg", "title", "body"],
                 ((r.ticket_id, r.organisation_id, r.team_id, r.assignee_id, r.created_at,
                   search.PG_CONFIG.get(r.language, "simple"), r.title, r.body)
                  for r in rows))
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO tickets_search (ticket_id, organisation_id, team_id, assignee_id, "
            "created_at, document) SELECT ticket_id, organisation_id, team_id, assignee_id, "
            "created_at, setweight(to_tsvector(cfg, title), 'A') || to_tsvector(cfg, body) "
            "FROM kapula_search_stage")
        # ON COMMIT empties it too, but inside an outer transaction (tests) nothing commits
        cur.execute("TRUNCATE kapula_search_stage")
