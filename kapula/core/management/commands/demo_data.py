"""``kapula demo_data``: the demo city with teams, agents and a few hundred tickets."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from kapula.core import demo


class Command(BaseCommand):
    help = "Load the demo city (idempotent); --logins only prints the demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--logins", action="store_true",
                            help="Only print the demo logins.")
        parser.add_argument("--tickets", type=int, default=demo.DEFAULT_TICKETS,
                            help="How many demo tickets (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["logins"]:
            self.print_logins()
            return
        started = time.perf_counter()
        summary = demo.load(tickets=max(0, options["tickets"]),
                            progress=lambda msg: self.stdout.write(f"  {msg}")
                            if options["verbosity"] > 1 else None)
        self.stdout.write(
            _("Demo data: %(org)s, %(new)d tickets created, %(old)d already there "
              "(%(secs).1f s).") % {"org": summary.organisation.name,
                                   "new": summary.created_tickets,
                                   "old": summary.existing_tickets,
                                   "secs": time.perf_counter() - started}
        )

    def print_logins(self) -> None:
        rows = demo.logins()
        self.stdout.write(_("Demo logins (password for all: %(pw)s)")
                          % {"pw": rows[0]["password"] if rows else ""})
        width = max(len(r["username"]) for r in rows)
        role_width = max(len(r["role"]) for r in rows)
        for r in rows:
            self.stdout.write(f"  {r['username']:<{width}}  {r['password']}  "
                              f"{r['role']:<{role_width}}  {r['teams']}")
        from kapula.core import demo_content
        from kapula.intake.open311.demo import login_lines

        for line in login_lines(demo_content.ORG_SLUG):
            self.stdout.write(line)
        from kapula.kb.demo import resident_lines

        for line in resident_lines(demo_content.ORG_SLUG):
            self.stdout.write(line)
