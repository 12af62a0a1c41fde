"""``kapula open311_client --org SLUG --name NAME``: create an Open311 client application
and print its API key once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kapula.core.errors import ActionError
from kapula.core.models import Organisation
from kapula.intake.open311.actions import create_client


class Command(BaseCommand):
    help = "Create an Open311 client (API key) for an organisation and print the key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="The organisation's identifier.")
        parser.add_argument("--name", required=True, help="The application's name.")
        parser.add_argument("--notes", default="", help="Who runs it, whom to contact.")

    def handle(self, *args: Any, **options: Any) -> None:
        org = Organisation.objects.filter(slug=options["org"]).first()
        if org is None:
            raise CommandError(f"No organisation {options['org']!r}.")
        try:
            client, raw = create_client(actor=None, organisation=org, name=options["name"],
                                        notes=options["notes"])
        except ActionError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Open311 client {client.name!r} of {org.slug} (shown only once):")
        self.stdout.write(raw)
