"""``kapula generate_load_data --tickets N``: bulk data for benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils.translation import gettext as _

from kapula.core import loaddata
from kapula.core.management.organisation import organisation_or_demo


class Command(BaseCommand):
    help = ("Fill the database fast with realistic tickets for benchmarks (COPY on "
            "PostgreSQL). Uses the demo city unless --organisation is given.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, required=True)
        parser.add_argument("--organisation", default="",
                            help="Organisation slug (default: the demo city, created if "
                                 "missing).")
        parser.add_argument("--messages-per-ticket", type=float, default=3.0,
                            help="Average conversation length (default %(default)s).")
        parser.add_argument("--years", type=float, default=3.0,
                            help="Spread creation times over this many years.")
        parser.add_argument("--batch", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["tickets"] < 1:
            raise CommandError(_("--tickets must be at least 1."))
        if options["messages_per_ticket"] < 1:
            raise CommandError(_("--messages-per-ticket must be at least 1."))
        org = organisation_or_demo(options["organisation"])
        self.stdout.write(_("Generating %(n)d tickets for %(org)s on %(db)s...")
                          % {"n": options["tickets"], "org": org.name, "db": connection.vendor})
        summary = loaddata.generate(
            org, tickets=options["tickets"], messages_per_ticket=options["messages_per_ticket"],
            years=options["years"], seed=options["seed"], batch=max(100, options["batch"]),
            progress=lambda msg: self.stdout.write(f"  {msg}"),
        )
        self.stdout.write(
            _("Done: %(t)d tickets, %(m)d messages, %(h)d history rows, %(c)d customers in "
              "%(s).1f s (%(rate).0f tickets/s).")
            % {"t": summary.tickets, "m": summary.messages, "h": summary.history,
               "c": summary.customers, "s": summary.seconds,
               "rate": summary.tickets / max(summary.seconds, 1e-9)}
        )
