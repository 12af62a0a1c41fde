"""Content of the demo city "Demola": teams, people, ticket types, categories and the
stories its demo tickets are made of. Plain data; :mod:`kapula.core.demo` loads it.

The texts are sample *data* (what residents and agents wrote), not user interface strings,
so they are deliberately not translatable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ORG_SLUG = "demola"
ORG_NAME = "Demolan kaupunki"
ORG_PREFIX = "DEM"
DEMO_PASSWORD = "kapula-demo"  # noqa: S105  (a published demo password, by design)
#: the city centre, used for located tickets (a lakeside town in Tavastia)
CENTRE = (61.0, 24.46)

# (key, parent key, fi, sv, en, shared visibility)
UNITS = [
    ("yhteiset", None, "Kaupunkiyhteiset palvelut", "Gemensamma tjänster", "Common services",
     False),
    ("asiointi", "yhteiset", "Asiointipalvelut", "Kundtjänst", "Customer service", True),
    ("ymparisto", None, "Kaupunkiympäristö", "Stadsmiljö", "Urban environment", False),
    ("tietohallinto", "yhteiset", "Tietohallinto", "IT-förvaltning", "IT management", False),
]

#: service addresses (the demo's mail listener accepts them on port 2525):
#: (address, team, default sender)
MAILBOXES = [
    ("palvelu@demolan.example", "palvelupiste", True),
    ("it-tuki@demolan.example", "it-tuki", False),
]

# (slug, unit key, tier, fi, sv, en, email)
TEAMS = [
    ("palvelupiste", "asiointi", "front", "Palvelupiste", "Servicepunkten", "Service point",
     "palvelupiste@demola.example"),
    ("puhelinpalvelu", "asiointi", "front", "Puhelinpalvelu", "Telefontjänsten",
     "Phone service", "puhelinpalvelu@demola.example"),
    ("katujen-kunnossapito", "ymparisto", "specialist", "Katujen kunnossapito",
     "Gatuunderhåll", "Street maintenance", "kunnossapito@demola.example"),
    ("it-tuki", "tietohallinto", "front", "IT-palvelupiste (1. taso)",
     "IT-servicedesk (nivå 1)", "IT service desk (1st line)", "it-tuki@demola.example"),
    ("it-asiantuntijat", "tietohallinto", "specialist", "IT-asiantuntijat", "IT-specialister",
     "IT specialists", "it-asiantuntijat@demola.example"),
    ("datakeskus", "tietohallinto", "supplier", "Toimittaja: Datakeskus Oy",
     "Leverantör: Datakeskus Oy", "Supplier: Datakeskus Oy", "tuki@datakeskus.example"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...]
    lead_of: tuple[str, ...] = ()
    language: str = "fi"
    admin_unit: str | None = None
    is_staff: bool = False


USERS = [
    DemoUser("aino", "Aino", "Virtanen", "agent", ("palvelupiste", "puhelinpalvelu")),
    DemoUser("emma", "Emma", "Holmström", "agent", ("puhelinpalvelu",), language="sv"),
    DemoUser("elias", "Elias", "Korhonen", "agent", ("it-tuki",)),
    DemoUser("linnea", "Linnea", "Nieminen", "team_lead", ("katujen-kunnossapito",),
             lead_of=("katujen-kunnossapito",)),
    DemoUser("mikael", "Mikael", "Lindqvist", "team_lead", ("it-tuki", "it-asiantuntijat"),
             lead_of=("it-asiantuntijat",), language="sv"),
    DemoUser("jussi", "Jussi", "Salo", "agent", ("datakeskus",)),
    DemoUser("sofia", "Sofia", "Mäkinen", "unit_admin", ("it-tuki",),
             admin_unit="tietohallinto"),
    DemoUser("helena", "Helena", "Laine", "org_admin", ("palvelupiste",), language="en",
             is_staff=True),
]

# (code, ordering, fi, sv, en)
TICKET_TYPES = [
    ("question", 1, "Kysymys / neuvonta", "Fråga / rådgivning", "Question / advice"),
    ("incident", 2, "Häiriö", "Störning", "Incident"),
    ("service_request", 3, "Palvelupyyntö", "Servicebegäran", "Service request"),
    ("feedback", 4, "Palaute", "Respons", "Feedback"),
    ("fault_report", 5, "Vikailmoitus", "Felanmälan", "Fault report"),
    ("complaint", 6, "Valitus", "Klagomål", "Complaint"),
]

# (key, parent key, fi, sv, en, default team slug)
CATEGORIES = [
    ("kadut", None, "Kadut ja liikenne", "Gator och trafik", "Streets and traffic",
     "katujen-kunnossapito"),
    ("katuvalot", "kadut", "Katuvalot", "Gatubelysning", "Street lights",
     "katujen-kunnossapito"),
    ("paallysteet", "kadut", "Kuopat ja päällysteet", "Gropar och beläggning",
     "Potholes and paving", "katujen-kunnossapito"),
    ("talvi", "kadut", "Talvikunnossapito", "Vinterunderhåll", "Winter maintenance",
     "katujen-kunnossapito"),
    ("liikennemerkit", "kadut", "Liikennemerkit ja valot", "Trafikmärken och -ljus",
     "Traffic signs and lights", "katujen-kunnossapito"),
    ("puistot", None, "Puistot ja viheralueet", "Parker och grönområden", "Parks and green areas",
     "katujen-kunnossapito"),
    ("asiointi", None, "Kaupungin palvelut", "Stadens tjänster", "City services",
     "palvelupiste"),
    ("pysakointi", "asiointi", "Pysäköinti", "Parkering", "Parking", "palvelupiste"),
    ("jatehuolto", "asiointi", "Jätehuolto", "Avfallshantering", "Waste management",
     "palvelupiste"),
    ("liikunta", "asiointi", "Liikuntapaikat", "Idrottsplatser", "Sports facilities",
     "palvelupiste"),
    ("varhaiskasvatus", "asiointi", "Varhaiskasvatus", "Småbarnspedagogik",
     "Early childhood education", "puhelinpalvelu"),
    ("it", None, "IT-palvelut", "IT-tjänster", "IT services", "it-tuki"),
    ("tunnukset", "it", "Tunnukset ja salasanat", "Konton och lösenord",
     "Accounts and passwords", "it-tuki"),
    ("tulostus", "it", "Tulostus", "Utskrift", "Printing", "it-tuki"),
    ("verkko", "it", "Verkko ja VPN", "Nätverk och VPN", "Network and VPN", "it-tuki"),
    ("ohjelmistot", "it", "Ohjelmistot", "Programvara", "Software", "it-tuki"),
    ("laitteet", "it", "Laitteet", "Enheter", "Devices", "it-tuki"),
]

#: the service catalogue's web forms: (code, unit key, visibility, type code, category key,
#: (fi, sv, en) names, (fi, sv, en) descriptions, group, require email, fields) where a field
#: is (code, kind, required, (fi, sv, en) label, choices, urgent values)
SERVICES: list[tuple[Any, ...]] = [
    ("katuvalo", "ymparisto", "public", "fault_report", "katuvalot",
     ("Katuvalo ei toimi", "Gatubelysningen fungerar inte", "Street light not working"),
     ("Ilmoita rikkinäisestä tai vilkkuvasta katuvalosta.",
      "Anmäl en trasig eller blinkande gatlykta.",
      "Report a broken or flickering street light."),
     "Kadut ja liikenne", False, [
         ("vika", "choice", True, ("Mikä on vialla?", "Vad är felet?", "What is wrong?"),
          [{"key": "pimea", "fi": "Valo ei pala", "sv": "Lampan lyser inte",
            "en": "The light is out"},
           {"key": "vilkkuu", "fi": "Valo vilkkuu", "sv": "Lampan blinkar",
            "en": "The light flickers"},
           {"key": "pylvas", "fi": "Pylväs on vaurioitunut tai kaatumassa",
            "sv": "Stolpen är skadad eller håller på att falla",
            "en": "The pole is damaged or falling"}], ["pylvas"]),
         ("paikka", "location", True, ("Sijainti", "Plats", "Location"), [], []),
         ("kuva", "attachment", False, ("Valokuva", "Foto", "Photo"), [], []),
     ]),
    ("palaute", "asiointi", "public", "feedback", "asiointi",
     ("Palaute kaupungille", "Respons till staden", "Feedback to the city"),
     ("Kiitos, kehitysidea tai moite: kerro, miten voimme parantaa palveluja.",
      "Tack, idéer eller klagomål: berätta hur vi kan förbättra tjänsterna.",
      "Praise, ideas or complaints: tell us how we can improve our services."),
     "Asiointi", False, [
         ("aihe", "choice", False, ("Palautteen laji", "Typ av respons", "Kind of feedback"),
          [{"key": "kiitos", "fi": "Kiitos", "sv": "Tack", "en": "Praise"},
           {"key": "idea", "fi": "Kehitysidea", "sv": "Idé", "en": "Idea"},
           {"key": "moite", "fi": "Moite", "sv": "Klagomål", "en": "Complaint"}], []),
     ]),
    ("salasana", "tietohallinto", "intranet", "service_request", "tunnukset",
     ("Salasanan vaihto tai lukitus", "Byte av lösenord eller låst konto",
      "Password reset or locked account"),
     ("Henkilöstölle: pyydä uusi salasana tai tunnuksen avaus.",
      "För personalen: begär nytt lösenord eller upplåsning av kontot.",
      "For staff: ask for a new password or to unlock your account."),
     "IT", True, [
         ("tunnus", "device", True, ("Käyttäjätunnus", "Användarnamn", "User name"), [], []),
         ("estaa", "yesno", True, ("Estääkö tämä työnteon?", "Hindrar detta arbetet?",
                                   "Does this prevent you from working?"), [], ["yes"]),
     ]),
    ("ohjelmisto", "tietohallinto", "intranet", "service_request", "ohjelmistot",
     ("Ohjelmiston asennus", "Installation av programvara", "Software installation"),
     ("Pyydä ohjelmiston asennusta työasemaasi.",
      "Begär installation av programvara på din arbetsstation.",
      "Ask for software to be installed on your workstation."),
     "IT", True, [
         ("ohjelma", "text", True, ("Ohjelmisto", "Programvara", "Software"), [], []),
         ("tyoasema", "device", True, ("Työaseman tunnus", "Arbetsstationens namn",
                                       "Workstation name"), [], []),
         ("peruste", "textarea", False, ("Perustelu", "Motivering", "Reason"), [], []),
     ]),
]

# (key, kind, fi, sv, en, ticket type code or None, category key or None, choices)
CUSTOM_FIELDS = [
    ("laitetunnus", "text", "Laitetunnus", "Inventarienummer", "Asset tag", None, "laitteet",
     []),
    ("kayttajia", "integer", "Vaikutus käyttäjiin (lkm)", "Berörda användare (antal)",
     "Users affected", "incident", None, []),
    ("kunnossapitoluokka", "choice", "Kunnossapitoluokka", "Underhållsklass",
     "Maintenance class", None, "katuvalot", ["I", "II", "III"]),
    ("takaisinsoitto", "boolean", "Toivoo takaisinsoittoa", "Önskar återuppringning",
     "Wants a call back", None, None, []),
]

FIRST_NAMES = {
    "fi": ["Matti", "Liisa", "Juha", "Sari", "Timo", "Anne", "Mikko", "Päivi", "Ville", "Heidi",
           "Antti", "Riikka", "Janne", "Katja", "Oskari", "Eveliina", "Kalle", "Tuula"],
    "sv": ["Erik", "Anna", "Johan", "Maria", "Lars", "Karin", "Nils", "Ebba", "Henrik", "Ulla",
           "Oskar", "Ida"],
    "en": ["James", "Olivia", "Daniel", "Grace", "Thomas", "Chloe", "Samuel", "Ruth", "Adam",
           "Priya"],
}
LAST_NAMES = {
    "fi": ["Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Rantanen", "Hämäläinen", "Laaksonen",
           "Salminen", "Tuominen", "Kallio", "Savolainen", "Peltonen"],
    "sv": ["Lindholm", "Sjöberg", "Björklund", "Wikström", "Forsman", "Nyström", "Åkerlund",
           "Granqvist"],
    "en": ["Smith", "Taylor", "Brown", "Walker", "Khan", "Wright", "Evans", "O'Neill"],
}
#: street names all end in -katu, so that Finnish case endings ("{street}lla") stay right
STREETS = ["Kauppakatu", "Rautatienkatu", "Koulukatu", "Hämeenkatu", "Rantakatu", "Puistokatu",
           "Kirkkokatu", "Satamakatu", "Linnankatu", "Asemakatu", "Torikatu", "Sairaalankatu"]


@dataclass(frozen=True)
class Story:
    """One kind of matter: what the customer wrote and how the conversation goes on."""

    language: str
    title: str
    body: str
    category: str
    ticket_type: str
    channels: tuple[str, ...]
    reply: str
    follow_up: str = ""
    note: str = ""
    located: bool = False
    tags: tuple[str, ...] = ()
    impact: str = "medium"
    urgency: str = "medium"
    fields: dict[str, object] = field(default_factory=dict)


STORIES = [
    # --- Finnish -----------------------------------------------------------------------------
    Story("fi", "Katuvalo pimeänä", "Hei, {street}n katuvalo on ollut pimeänä jo viikon. "
          "Illalla pyörätie on todella pimeä ja koululaiset kulkevat siitä.",
          "katuvalot", "fault_report", ("web_form", "mobile_app", "phone"),
          "Kiitos ilmoituksesta! Välitimme vian urakoitsijalle, korjaus tehdään arviolta "
          "kahden viikon kuluessa.", "Valo palaa taas, kiitos nopeasta korjauksesta!",
          "Urakoitsijan työmääräin 4411 avattu.", True, ("katuvalo",),
          fields={"kunnossapitoluokka": "II"}),
    Story("fi", "Syvä kuoppa ajoradalla", "{street}lla on syvä kuoppa suojatien vieressä. "
          "Auton rengas meinasi hajota. Kuoppa on noin puoli metriä leveä.",
          "paallysteet", "fault_report", ("mobile_app", "web_form", "social_media"),
          "Kiitos! Kuoppa paikataan kylmäasfaltilla tämän viikon aikana.",
          "Kuoppa on edelleen paikkaamatta, milloin tulette?", "Merkitty paikkauslistalle.",
          True, ("kuoppa", "liikenneturvallisuus"), "medium", "high"),
    Story("fi", "Jalkakäytävä liukas", "Hyvää päivää. {street}n jalkakäytävä on aivan jäässä "
          "eikä sitä ole hiekoitettu. Iäkäs äitini liukastui tänä aamuna.",
          "talvi", "fault_report", ("phone", "email", "web_form"),
          "Pahoittelemme tilannetta. Hiekoitusauto on ohjattu alueelle vielä tänään.",
          note="Alueurakoitsijalle soitettu klo 9.15.", located=True,
          tags=("liukkaus", "talvi"), impact="medium", urgency="high"),
    Story("fi", "Aurausvalli pihaliittymän edessä", "Lumiaura jätti korkean vallin "
          "pihaliittymämme eteen osoitteessa {street} 14. Emme pääse autolla ulos.",
          "talvi", "complaint", ("phone", "email"),
          "Kiitos yhteydenotosta. Aurausurakoitsija käy poistamassa vallin huomenna "
          "aamupäivällä.", located=True, tags=("talvi",)),
    Story("fi", "Pysäköintivirhemaksu", "Sain pysäköintivirhemaksun, vaikka pysäköintilippu "
          "oli näkyvillä tuulilasin takana. Haluan tehdä oikaisuvaatimuksen.",
          "pysakointi", "complaint", ("web_form", "email", "walk_in"),
          "Oikaisuvaatimus on kirjattu. Pysäköinninvalvonta käsittelee sen kahden viikon "
          "kuluessa ja lähettää päätöksen kotiin.", "Liitän vielä kuvan lipusta.",
          "Ohjattu pysäköinninvalvonnan käsittelijälle.", tags=("pysäköinti",)),
    Story("fi", "Asukaspysäköintitunnus", "Muutin keskustaan ja tarvitsisin "
          "asukaspysäköintitunnuksen. Mitä liitteitä hakemukseen tarvitaan?",
          "pysakointi", "question", ("walk_in", "phone", "chat", "chatbot"),
          "Hakemukseen tarvitaan rekisteriote ja vuokrasopimus. Tunnuksen voi hakea "
          "verkkoasioinnissa tai palvelupisteessä."),
    Story("fi", "Jäteastia tyhjentämättä", "Sekajäteastiaamme ei ole tyhjennetty kahteen "
          "viikkoon osoitteessa {street} 3. Astia on täynnä ja haisee.",
          "jatehuolto", "service_request", ("web_form", "phone", "email"),
          "Välitimme asian jätehuoltoyhtiölle, tyhjennys tehdään ylimääräisenä huomenna.",
          located=True, tags=("jäte",)),
    Story("fi", "Uimahallin aukioloajat joulun aikaan", "Onko uimahalli auki joulun "
          "välipäivinä? Verkkosivuilla ei ole tietoa.", "liikunta", "question",
          ("chatbot", "chat", "social_media", "email"),
          "Uimahalli on auki välipäivinä klo 10–18. Jouluaattona ja joulupäivänä suljettu."),
    Story("fi", "Päiväkotipaikan hakeminen", "Milloin päiväkotipaikkaa pitää hakea, jos "
          "lapsen hoito alkaa elokuussa? Voiko hakemuksen tehdä paperilla?",
          "varhaiskasvatus", "question", ("phone", "email", "chat"),
          "Hakemus pitää jättää viimeistään neljä kuukautta ennen hoidon alkua. Paperilomakkeen "
          "saa palvelupisteestä.", "Kiitos, teen hakemuksen verkossa."),
    Story("fi", "Kiitos puiston siivouksesta", "Haluan kiittää kaupunkia {street}n puiston "
          "siivouksesta. Leikkipaikka on nyt siisti ja turvallinen.", "puistot", "feedback",
          ("web_form", "social_media", "email"),
          "Kiitos palautteesta! Välitämme sen puistotiimille.", tags=("kiitos",)),
    Story("fi", "Salasana vanhentunut", "Salasanani vanheni enkä pääse kirjautumaan "
          "koneelle. Tunnukseni on {user}.", "tunnukset", "service_request",
          ("phone", "email", "chat", "web_form"),
          "Salasana on nollattu. Saat kertakäyttöisen salasanan tekstiviestinä.",
          "Pääsin sisään, kiitos.", "Henkilöllisyys tarkistettu takaisinsoitolla."),
    Story("fi", "Tulostin ei tulosta", "Kolmannen kerroksen tulostin ilmoittaa paperitukos, "
          "vaikka paperia ei ole jumissa. Koko kerros on ilman tulostinta.", "tulostus",
          "incident", ("email", "phone", "web_form"),
          "Huoltomies on tilattu paikalle, siihen asti voitte käyttää toisen kerroksen "
          "tulostinta.", note="Tulostimen malli HP M607, sarjanumero tarkistettu.",
          impact="medium", urgency="medium", fields={"kayttajia": 25}),
    Story("fi", "VPN-yhteys katkeilee", "Etätöissä VPN-yhteys katkeaa noin puolen tunnin "
          "välein. Ongelma alkoi eilisen päivityksen jälkeen.", "verkko", "incident",
          ("email", "chat", "web_form"),
          "Kiitos! Ongelma liittyy asiakasohjelman päivitykseen, korjattu versio jaetaan "
          "tänään.", "Yhteys toimii nyt.", "Sama vika useilla käyttäjillä, eskaloitu.",
          tags=("vpn",), impact="high", urgency="medium", fields={"kayttajia": 140}),
    Story("fi", "Uusi kannettava työntekijälle", "Tarvitsemme kannettavan tietokoneen "
          "uudelle työntekijälle, joka aloittaa ensi maanantaina.", "laitteet",
          "service_request", ("web_form", "email"),
          "Kone on tilattu ja valmis noudettavaksi perjantaina IT-palvelupisteestä.",
          fields={"laitetunnus": "DEM-LT-20431"}),
    Story("fi", "Palvelin ei vastaa", "Valvonta: palvelin app-prod-03 ei vastaa pingiin. "
          "Hälytys on ollut päällä 5 minuuttia.", "ohjelmistot", "incident", ("monitoring",),
          "Palvelin käynnistetty uudelleen, palvelut toimivat.", impact="high",
          urgency="high", tags=("valvonta",)),
    # --- Swedish ------------------------------------------------------------------------------
    Story("sv", "Gatlyktan lyser inte", "Hej! Gatlyktan vid {street} har varit släckt i flera "
          "dagar. Det är mörkt på cykelvägen på kvällarna.", "katuvalot", "fault_report",
          ("web_form", "email", "phone"),
          "Tack för anmälan! Felet har skickats till entreprenören och åtgärdas inom två veckor.",
          "Nu lyser den igen, tack!", located=True, tags=("katuvalo",)),
    Story("sv", "Halt på trottoaren", "Trottoaren på {street} är mycket hal och har inte "
          "sandats. Jag var nära att falla.", "talvi", "fault_report", ("phone", "web_form"),
          "Vi beklagar. Sandbilen kommer till området i dag.", located=True,
          tags=("liukkaus",), urgency="high"),
    Story("sv", "Fråga om parkeringstillstånd", "Jag har flyttat till centrum. Hur ansöker "
          "jag om boendeparkeringstillstånd?", "pysakointi", "question",
          ("email", "walk_in", "chat"),
          "Du kan ansöka via e-tjänsten eller på servicepunkten. Bifoga registreringsutdrag "
          "och hyresavtal."),
    Story("sv", "Sopkärlet har inte tömts", "Vårt sopkärl på {street} 8 har inte tömts på två "
          "veckor.", "jatehuolto", "service_request", ("email", "web_form"),
          "Vi har kontaktat avfallsbolaget, kärlet töms i morgon.", located=True),
    Story("sv", "Klagomål på bemötande", "Jag blev otrevligt bemött i telefontjänsten i går "
          "och fick inget svar på min fråga.", "asiointi", "complaint", ("email", "web_form"),
          "Vi ber om ursäkt för bemötandet. Ärendet har behandlats med personalen och vi "
          "svarar på din fråga nedan.", note="Diskuterat med teamledaren."),
    Story("sv", "Lösenordet fungerar inte", "Jag kan inte logga in på e-posten, lösenordet "
          "godkänns inte.", "tunnukset", "service_request", ("phone", "chat"),
          "Lösenordet har återställts. Du får ett engångslösenord via sms.",
          "Det fungerar nu, tack."),
    Story("sv", "Tack för snabb hjälp", "Tack till servicepunkten för snabb och vänlig hjälp "
          "med min ansökan!", "asiointi", "feedback", ("web_form", "social_media"),
          "Tack för din respons, vi skickar den vidare till personalen.", tags=("kiitos",)),
    # --- English ------------------------------------------------------------------------------
    Story("en", "Pothole on the road", "There is a deep pothole on {street} next to the "
          "pedestrian crossing. Cyclists have to swerve into traffic.", "paallysteet",
          "fault_report", ("mobile_app", "web_form", "social_media"),
          "Thank you! The pothole will be patched this week.", located=True,
          tags=("kuoppa",), urgency="high"),
    Story("en", "Question about day care fees", "How are day care fees calculated? We moved "
          "to the city last month and our income has changed.", "varhaiskasvatus", "question",
          ("email", "chat", "phone"),
          "Fees depend on family size and income. Please send your income details through the "
          "online service and we will recalculate the fee.", "Thank you, income details sent."),
    Story("en", "Laptop will not start", "My work laptop does not start after the update, "
          "the screen stays black.", "laitteet", "incident", ("phone", "email", "chat"),
          "Please bring the laptop to the IT service point; we will give you a replacement "
          "while it is repaired.", note="Probably a failed firmware update.",
          fields={"laitetunnus": "DEM-LT-18872"}),
    Story("en", "Need access to shared folder", "I need write access to the shared folder of "
          "the planning department for a project.", "tunnukset", "service_request",
          ("web_form", "email", "api"),
          "Access granted after approval from your manager. It takes effect at next login."),
    Story("en", "Great swimming hall", "Just wanted to say the renovated swimming hall is "
          "excellent, thank you!", "liikunta", "feedback", ("social_media", "web_form"),
          "Thank you for the kind words!", tags=("kiitos",)),
    Story("en", "Ticket from partner desk", "Forwarded from the regional ICT service desk: a "
          "user of the city cannot open the payroll application.", "ohjelmistot", "incident",
          ("partner_desk",), "The payroll application certificate was renewed; please try "
          "again.", note="Partner reference in the external references.",
          impact="medium", urgency="high"),
]

# Final statuses and their weights for the lifecycle spread of demo tickets.
STATUS_WEIGHTS = [
    ("new", 14), ("open", 18), ("pending_customer", 9), ("pending_third_party", 6),
    ("resolved", 15), ("closed", 38),
]
