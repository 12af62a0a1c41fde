"""A synthetic labelled corpus for triage tests: six categories handled by three teams, in
Finnish, Swedish and English, each with its own vocabulary, plus greetings shared by all.
Tickets are opened through the real intake and resolved through the ticket actions."""

from __future__ import annotations

import random
from dataclasses import dataclass

from kapula.core.actions import CustomerIdentity
from kapula.core.models import Team
from kapula.intake.actions import Intake, receive
from kapula.tickets import actions as A
from kapula.tickets.models import Category, Ticket

STREETS = ["Hämeenkatu", "Satakunnankatu", "Itsenäisyydenkatu", "Pyynikintie", "Sammonkatu"]
GREETINGS = {
    "fi": ["Hei,", "Moi!", "Hyvää päivää.", "", "Terveisin Matti.", "Kiitos etukäteen."],
    "sv": ["Hej,", "God dag.", "", "Med vänliga hälsningar, Anna.", "Tack på förhand."],
    "en": ["Hello,", "Hi there.", "", "Best regards, John.", "Thanks in advance."],
}

#: category key -> language -> (titles, sentences)
TEXTS: dict[str, dict[str, tuple[list[str], list[str]]]] = {
    "light": {
        "fi": (["Katuvalo ei pala", "Katulamppu sammunut", "Valaisin vilkkuu kadulla"],
               ["Katuvalo {s} kohdalla ei pala illalla.", "Pylvään lamppu vilkkuu koko yön.",
                "Kevyen liikenteen väylän valaistus on pimeänä."]),
        "sv": (["Gatlyktan lyser inte", "Trasig gatubelysning", "Lampan blinkar på gatan"],
               ["Gatlyktan vid {s} är släckt på kvällen.", "Lampan i stolpen blinkar hela "
                "natten.", "Belysningen på cykelbanan är mörk."]),
        "en": (["Street light is out", "Broken street lamp", "Lamp flickering on the street"],
               ["The street light near {s} does not turn on at night.", "The lamp on the "
                "pole keeps flickering all night.", "The lighting on the cycle path is dark."]),
    },
    "road": {
        "fi": (["Kuoppa tiessä", "Asfaltti rikki", "Syvä monttu ajoradalla"],
               ["Ajoradalla {s} on syvä kuoppa, joka rikkoo renkaita.", "Asfaltissa on iso "
                "reikä ja halkeamia.", "Päällyste on murentunut risteyksessä."]),
        "sv": (["Grop i vägen", "Trasig asfalt", "Djupt hål i körbanan"],
               ["På körbanan vid {s} finns en djup grop som skadar däcken.", "Asfalten har "
                "ett stort hål och sprickor.", "Beläggningen har vittrat i korsningen."]),
        "en": (["Pothole in the road", "Broken asphalt", "Deep hole in the carriageway"],
               ["There is a deep pothole on {s} that damages tyres.", "The asphalt has a big "
                "hole and cracks.", "The road surface has crumbled at the junction."]),
    },
    "password": {
        "fi": (["Salasana vanhentunut", "En pääse kirjautumaan", "Salasanan vaihto ei onnistu"],
               ["Salasanani vanheni enkä pääse kirjautumaan sähköpostiin.", "Tunnus lukittui "
                "kolmen väärän salasanan jälkeen.", "Kirjautuminen kysyy uutta salasanaa."]),
        "sv": (["Lösenordet har gått ut", "Kan inte logga in", "Byte av lösenord misslyckas"],
               ["Mitt lösenord gick ut och jag kommer inte in i e-posten.", "Kontot låstes "
                "efter tre fel lösenord.", "Inloggningen kräver ett nytt lösenord."]),
        "en": (["Password expired", "Cannot log in", "Password change fails"],
               ["My password expired and I cannot sign in to email.", "The account was "
                "locked after three wrong passwords.", "The login asks for a new password."]),
    },
    "printer": {
        "fi": (["Tulostin jumissa", "Tulostin ei tulosta", "Paperitukos tulostimessa"],
               ["Kerroksen tulostin näyttää paperitukosta eikä tulosta.", "Tulostusjono on "
                "jumissa ja värikasetti loppu.", "Tulostimen näytöllä on virhekoodi."]),
        "sv": (["Skrivaren har fastnat", "Skrivaren skriver inte ut", "Pappersstopp i skrivaren"],
               ["Skrivaren på våningen visar pappersstopp och skriver inte ut.", "Utskriftskön "
                "har fastnat och tonern är slut.", "Skrivarens display visar en felkod."]),
        "en": (["Printer jammed", "Printer does not print", "Paper jam in the printer"],
               ["The printer on our floor shows a paper jam and will not print.", "The print "
                "queue is stuck and the toner is empty.", "The printer display shows an "
                "error code."]),
    },
    "feedback": {
        "fi": (["Kiitos hyvästä palvelusta", "Palautetta kirjastosta", "Risuja ja ruusuja"],
               ["Haluan antaa palautetta: asiakaspalvelu oli ystävällistä.", "Kirjaston "
                "aukioloajat ovat liian lyhyet, toivon muutosta.", "Uimahallin siivous on "
                "parantunut, kiitos siitä."]),
        "sv": (["Tack för god service", "Respons om biblioteket", "Ris och ros"],
               ["Jag vill ge respons: kundtjänsten var vänlig.", "Bibliotekets öppettider är "
                "för korta, jag önskar en ändring.", "Städningen i simhallen har blivit "
                "bättre, tack för det."]),
        "en": (["Thanks for the good service", "Feedback about the library", "Praise and "
                "complaints"],
               ["I want to give feedback: customer service was friendly.", "The library "
                "opening hours are too short, please change them.", "Cleaning at the "
                "swimming hall has improved, thank you."]),
    },
    "parking": {
        "fi": (["Pysäköintivirhemaksu"], ["Sain pysäköintivirhemaksun, vaikka lippu oli "
                                          "näkyvissä."]),
        "sv": (["Parkeringsbot"], ["Jag fick en parkeringsbot fast biljetten syntes."]),
        "en": (["Parking fine"], ["I got a parking fine although the ticket was visible."]),
    },
}

NAMES = {"light": "Katuvalot", "road": "Tiet ja kadut", "password": "Salasanat",
         "printer": "Tulostimet", "feedback": "Palaute", "parking": "Pysäköinti"}


@dataclass
class Corpus:
    categories: dict[str, Category]
    teams: dict[str, Team]
    tickets: list[Ticket]


def text_for(rng: random.Random, key: str, lang: str) -> tuple[str, str]:
    titles, sentences = TEXTS[key][lang]
    title = rng.choice(titles)
    picked = rng.sample(sentences, k=min(2, len(sentences)))
    body = " ".join([rng.choice(GREETINGS[lang]), *picked, rng.choice(GREETINGS[lang])])
    return title, body.format(s=rng.choice(STREETS)).strip()


def build(world, per_class: int = 36, small: int = 4, seed: int = 7) -> Corpus:  # type: ignore[no-untyped-def]
    """Open and resolve ``per_class`` tickets per category (``small`` for parking)."""
    org = world.org
    street = Team.objects.create(organisation=org, unit=world.unit, slug="katu",
                                 name_fi="Katupalvelut", name_en="Street services")
    team_for = {"light": street, "road": street, "password": world.it_desk,
                "printer": world.it_desk, "feedback": world.service_point,
                "parking": world.service_point}
    cats = {"light": world.category}
    for key in ("road", "password", "printer", "feedback", "parking"):
        cats[key] = Category.objects.create(organisation=org, name_fi=NAMES[key])
    rng = random.Random(seed)
    tickets = []
    langs = ["fi", "sv", "en"]
    for key in TEXTS:
        for i in range(small if key == "parking" else per_class):
            lang = langs[i % 3]
            title, body = text_for(rng, key, lang)
            ticket = receive(Intake(
                organisation=org, channel="email", subject=title, body=body, language=lang,
                customer=CustomerIdentity(email=f"asiakas{i % 7}@example.fi"))).ticket
            ticket = A.update_ticket(actor=world.org_admin, ticket=ticket, changes={
                "category": cats[key], "team": team_for[key], "status": "resolved"})
            tickets.append(ticket)
    return Corpus(categories=cats, teams={"street": street, "it": world.it_desk,
                                          "sp": world.service_point}, tickets=tickets)
