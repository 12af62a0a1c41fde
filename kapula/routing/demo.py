"""The demo city's routing rules and team assignment (``kapula demo_data``).

Added after the demo tickets, so the generated history stays as designed; contacts that
arrive later (web forms, mail, the desk) are routed by them. Idempotent: rules are found by
name and left alone when they exist (an admin may have edited them)."""

from __future__ import annotations

from typing import Any

from kapula.core.models import Organisation, Team
from kapula.routing.models import AssignmentMode, RoutingRule, TeamRouting

BUILDING_FI = ("Kiitos viestistäsi. Rakennusten ja kiinteistöjen viat (vesivuodot, hissit, "
               "lämmitys) hoitaa kiinteistöhuolto: soita kiinteistöhuollon "
               "vikapäivystykseen 010 555 0100 (24 h) tai käytä isännöitsijän vikailmoitusta. "
               "Suljimme tämän asian, koska emme voi korjata vikaa itse.")
BUILDING_SV = ("Tack för ditt meddelande. Fel i byggnader och fastigheter (vattenläckor, hissar, "
               "uppvärmning) sköts av fastighetsservicen: ring felanmälan 010 555 0100 (dygnet "
               "runt) eller använd disponentens felanmälan. Vi har stängt ärendet eftersom vi "
               "inte själva kan åtgärda felet.")
BUILDING_EN = ("Thank you for your message. Faults in buildings (water leaks, lifts, heating) "
               "are handled by property maintenance: call the fault line 010 555 0100 (24 h) "
               "or use your property manager's fault report. We have closed this matter "
               "because we cannot repair the fault ourselves.")


def ensure_demo_routing(org: Organisation, teams: dict[str, Team],
                        categories: dict[str, Any]) -> None:
    rules: list[dict[str, Any]] = [
        {"name": "Työ estynyt → kiireellinen", "position": 10, "continue_processing": True,
         "keywords": "työ estynyt\ntyö on estynyt\ntyöt estyneet\nen pysty työskentelemään\n"
                     "arbetet förhindrat\nkan inte arbeta\nwork prevented\ncannot work",
         "set_urgency": "high", "add_tags": "työ-estynyt"},
        {"name": "Rakennusviat kiinteistöhuoltoon", "position": 20, "kind": "out_of_scope",
         "keywords": "vesivuoto\nvesivahinko\nhissi*\npatteri*\nvuotaa katosta\n"
                     "vattenläcka\nhiss\nhissen\nwater leak\nlift\nradiator*",
         "reply_fi": BUILDING_FI, "reply_sv": BUILDING_SV, "reply_en": BUILDING_EN,
         "out_of_scope_action": "close"},
        {"name": "Tulostimet IT-tukeen", "position": 30,
         "keywords": "tulostin\ntulosti*\nskrivare*\nprinter*",
         "set_team": teams.get("it-tuki"), "set_category": categories.get("tulostus"),
         "add_tags": "tulostin"},
        {"name": "Katuvalot kunnossapitoon", "position": 40,
         "keywords": "katuvalo*\ngatlykt*\ngatubelysning*\nstreet light*",
         "set_team": teams.get("katujen-kunnossapito"),
         "set_category": categories.get("katuvalot")},
    ]
    for spec in rules:
        if not RoutingRule.objects.filter(organisation=org, name=spec["name"]).exists():
            rule = RoutingRule(organisation=org, **spec)
            rule.full_clean()
            rule.save()
    it_desk = teams.get("it-tuki")
    if it_desk is not None:
        TeamRouting.objects.get_or_create(team=it_desk,
                                          defaults={"mode": AssignmentMode.ROUND_ROBIN})
