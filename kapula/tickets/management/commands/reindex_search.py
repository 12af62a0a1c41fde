"""Rebuild the full-text search index from the tickets (after a restore, or to repair it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kapula.tickets.actions import reindex
from kapula.tickets.models import Ticket


class Command(BaseCommand):
    help = "Rebuild the search index (tickets_search) for all tickets or one organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", help="only this organisation (its slug)")
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        qs = Ticket.objects.select_related("customer").prefetch_related("customer__contacts")
        if options["organisation"]:
            qs = qs.filter(organisation__slug=options["organisation"])
        batch = max(1, options["batch"])
        last_id, done = 0, 0
        while True:
            tickets = list(qs.filter(pk__gt=last_id).order_by("pk")[:batch])
            if not tickets:
                break
            reindex(tickets)
            done += len(tickets)
            last_id = tickets[-1].pk
            if options["verbosity"] > 1:
                self.stdout.write(f"{done} tickets indexed")
        self.stdout.write(f"Search index rebuilt for {done} tickets.")
