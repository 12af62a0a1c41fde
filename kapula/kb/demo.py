"""Demo data: a few knowledge-base articles of the demo city (called from
``kapula demo_data``). Some have all three languages, some only Finnish, one Swedish
version is left behind an updated Finnish text (shown as outdated), one is internal and one
is for the IT management unit only."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kapula.core.models import Organisation, Unit, User
from kapula.kb import actions
from kapula.kb.models import Article, Audience
from kapula.tickets.models import Category

#: (category key, audience, {language: (title, html)})
ARTICLES: list[tuple[str, str, dict[str, tuple[str, str]]]] = [
    ("katuvalot", Audience.PUBLIC, {
        "fi": ("Katuvalo ei pala – näin ilmoitat viasta",
               "<p>Kaupunki korjaa katuvalot yleensä viikon kuluessa ilmoituksesta. Pimeänä "
               "aikana vikoja tulee paljon, joten tarkista ensin kartalta, onko samasta "
               "valosta jo ilmoitettu.</p><h2>Ilmoita näin</h2><ol><li>Katso lähimmän "
               "valaisinpylvään numero (kilpi pylvään kyljessä).</li><li>Täytä "
               "katuvalolomake ja merkitse paikka kartalle.</li><li>Jos valaisin on "
               "kaatunut tai johto on esillä, soita heti kunnossapidon päivystykseen.</li>"
               "</ol>"),
        "sv": ("Gatlyktan lyser inte – så anmäler du felet",
               "<p>Staden reparerar gatubelysningen vanligen inom en vecka efter anmälan. "
               "Kontrollera först på kartan om samma lykta redan har anmälts.</p><h2>Så "
               "här anmäler du</h2><ol><li>Se numret på närmaste belysningsstolpe.</li>"
               "<li>Fyll i blanketten för gatubelysning och markera platsen på kartan.</li>"
               "<li>Om stolpen har fallit eller en ledning syns, ring genast jouren.</li>"
               "</ol>"),
        "en": ("Street light out – how to report it",
               "<p>The city usually repairs street lights within a week of the report. "
               "First check on the map whether the same light has already been reported."
               "</p><h2>How to report</h2><ol><li>Look for the number of the nearest lamp "
               "post (a plate on its side).</li><li>Fill in the street light form and mark "
               "the place on the map.</li><li>If the post has fallen or a cable is exposed, "
               "call the maintenance on-call service at once.</li></ol>"),
    }),
    ("paallysteet", Audience.PUBLIC, {
        "fi": ("Kuoppa kadussa tai pyörätiellä",
               "<p>Ilmoita kuopasta lomakkeella ja liitä mukaan kuva. Vaaralliset kuopat "
               "merkitään 24 tunnin kuluessa ja paikataan, kun sää sallii.</p><p>Jos kuoppa "
               "on aiheuttanut vahinkoa ajoneuvolle, tee erillinen vahingonkorvaushakemus."
               "</p>"),
        "sv": ("Grop i gatan eller på cykelbanan",
               "<p>Anmäl gropen med blanketten och bifoga en bild. Farliga gropar märks ut "
               "inom ett dygn.</p>"),
    }),
    ("talvi", Audience.PUBLIC, {
        "fi": ("Milloin kotikatuni aurataan?",
               "<p>Pääkadut ja joukkoliikenteen reitit aurataan ensin, asuntokadut "
               "lumisateen päätyttyä, yleensä vuorokauden kuluessa. Liukkaudentorjunta "
               "tehdään ensin jalkakäytävillä ja pysäkeillä.</p><p>Tontin kohdalla "
               "olevan jalkakäytävän aurauksesta huolehtii kiinteistö.</p>"),
        "en": ("When will my street be ploughed?",
               "<p>Main streets and bus routes are ploughed first, residential streets "
               "after the snowfall has ended, usually within a day.</p>"),
    }),
    ("pysakointi", Audience.PUBLIC, {
        "fi": ("Pysäköintivirhemaksun oikaisuvaatimus",
               "<p>Jos pidät pysäköintivirhemaksua aiheettomana, voit tehdä "
               "oikaisuvaatimuksen 14 päivän kuluessa maksun tiedoksisaannista. "
               "Liitä mukaan kuvat ja muut perustelut.</p><p>Maksu on maksettava "
               "eräpäivään mennessä, vaikka oikaisuvaatimus olisi käsittelyssä; se "
               "palautetaan, jos vaatimus hyväksytään.</p>"),
        "sv": ("Begäran om omprövning av felparkeringsavgift",
               "<p>Om du anser att felparkeringsavgiften är obefogad kan du begära "
               "omprövning inom 14 dagar.</p>"),
        "en": ("Requesting a review of a parking fine",
               "<p>If you think a parking fine is unjustified, you can request a review "
               "within 14 days of receiving it. Attach photos and other grounds.</p>"),
    }),
    ("jatehuolto", Audience.PUBLIC, {
        "fi": ("Jäteastia jäi tyhjentämättä",
               "<p>Tarkista ensin tyhjennyspäivä jätehuoltoyhtiön sivuilta. Jos astia jäi "
               "tyhjentämättä sovittuna päivänä, ilmoita siitä kahden arkipäivän kuluessa; "
               "astia tyhjennetään lisämaksutta.</p>"),
    }),
    ("tunnukset", Audience.PUBLIC, {
        "fi": ("Unohtunut salasana – näin vaihdat sen itse",
               "<p>Voit vaihtaa salasanan itse salasanapalvelussa, kun olet tunnistautunut "
               "pankkitunnuksilla tai mobiilivarmenteella.</p><ol><li>Avaa "
               "salasanapalvelu.</li><li>Tunnistaudu.</li><li>Anna uusi salasana: vähintään "
               "12 merkkiä, ei sama kuin viisi edellistä.</li></ol><p>Uusi salasana toimii "
               "kaikissa palveluissa noin 15 minuutin kuluttua.</p>"),
        "sv": ("Glömt lösenord – så byter du det själv",
               "<p>Du kan byta lösenordet själv i lösenordstjänsten efter att du har "
               "identifierat dig med bankkoder eller mobilcertifikat.</p>"),
        "en": ("Forgotten password – change it yourself",
               "<p>You can change your password yourself in the password service after "
               "identifying with online banking codes or a mobile certificate.</p><p>The "
               "new password works in all services after about 15 minutes.</p>"),
    }),
    ("tulostus", Audience.INTERNAL, {
        "fi": ("Tulostin ei tulosta: tarkistuslista",
               "<ol><li>Tarkista, että tulostin on verkossa (näytön verkkokuvake).</li>"
               "<li>Poista jumittunut paperi ja tarkista värikasetit.</li><li>Tyhjennä "
               "tulostusjono: Asetukset → Tulostimet → Avaa jono → Peruuta kaikki.</li>"
               "<li>Jos vika jatkuu, eskaloi IT-asiantuntijoille ja liitä tulostimen "
               "laitenumero.</li></ol>"),
    }),
    ("it", Audience.UNITS, {
        "fi": ("Palvelinhuoneen kulkuoikeudet",
               "<p>Kulkuoikeuden palvelinhuoneeseen myöntää tietohallinnon "
               "tietoturvapäällikkö. Pyyntö tehdään IT-tuen lomakkeella, ja oikeus on "
               "voimassa enintään vuoden.</p>"),
    }),
]


def ensure_demo_articles(org: Organisation, categories: dict[str, Category],
                         author: User) -> int:
    """Create the demo articles once; return how many exist."""
    existing = Article.objects.filter(organisation=org).count()
    if existing:
        return existing
    it_unit = Unit.objects.filter(organisation=org, name_fi="Tietohallinto").first()
    review = timezone.localdate() + dt.timedelta(days=180)
    for cat_key, audience, versions in ARTICLES:
        units = [it_unit] if audience == Audience.UNITS and it_unit else []
        if audience == Audience.UNITS and not units:
            audience = Audience.INTERNAL
        fi_title, fi_body = versions["fi"]
        article = actions.create_article(
            actor=author, organisation=org, language="fi", title=fi_title, body_html=fi_body,
            category=categories.get(cat_key), audience=audience, units=units,
            review_due=review, publish=True)
        for lang in ("sv", "en"):
            if lang in versions:
                title, body = versions[lang]
                actions.save_translation(actor=author, article=article, language=lang,
                                         title=title, body_html=body, publish=True)
    # the Finnish street-light text was updated after its translations: they show as outdated
    first = Article.objects.filter(organisation=org).order_by("pk").first()
    if first is not None:
        fi = first.translations.get(language="fi")
        actions.save_translation(
            actor=author, article=first, language="fi", title=fi.title,
            body_html=fi.body_html + "<p>Vikailmoituksen tilaa voit seurata "
                                     "asiointiportaalissa.</p>",
            note="Lisätty maininta asiointiportaalista")
    return len(ARTICLES)


def resident_lines(org_slug: str) -> list[str]:
    """What ``demo_data --logins`` prints for trying the residents' side."""
    from django.utils.translation import gettext as _

    from kapula.core.models import ContactKind, CustomerContact
    from kapula.tickets.models import Ticket

    lines = [_("Residents: web forms /forms/%(org)s/, knowledge base /help/%(org)s/, "
               "customer portal /portal/%(org)s/") % {"org": org_slug}]
    ticket = (Ticket.objects.filter(organisation__slug=org_slug, customer__isnull=False,
                                    customer__contacts__kind=ContactKind.EMAIL)
              .order_by("-updated_at").values_list("customer_id", flat=True).first())
    email = (CustomerContact.objects.filter(customer_id=ticket, kind=ContactKind.EMAIL)
             .values_list("value", flat=True).first() if ticket else None)
    if email:
        lines.append(_("  portal login: ask a link for %(email)s; the mail (with the link) "
                       "is written to var/sent-mail/") % {"email": email})
    return lines
