"""``kapula generate_kb_data --articles N``: bulk knowledge-base articles for benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from kapula.core.management.organisation import organisation_or_demo
from kapula.kb import loaddata


class Command(BaseCommand):
    help = ("Fill the knowledge base with generated fi/sv/en articles for benchmarks. Uses "
            "the demo city unless --organisation is given.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--articles", type=int, required=True)
        parser.add_argument("--organisation", default="",
                            help="Organisation slug (default: the demo city).")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["articles"] < 1:
            raise CommandError(_("--articles must be at least 1."))
        org = organisation_or_demo(options["organisation"])
        summary = loaddata.generate(org, articles=options["articles"], seed=options["seed"],
                                    progress=lambda msg: self.stdout.write(f"  {msg}"))
        self.stdout.write(_("Done: %(a)d articles, %(t)d language versions in %(s).1f s.")
                          % {"a": summary.articles, "t": summary.translations,
                             "s": summary.seconds})
