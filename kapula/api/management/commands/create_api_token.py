"""``kapula create_api_token USERNAME [--name NAME]``: print a new API token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kapula.core.actions import create_api_token
from kapula.core.models import User


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label for the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.") from None
        if not user.is_active:
            raise CommandError("The user is not active.")
        token, raw = create_api_token(actor=None, user=user, name=options["name"])
        self.stderr.write(f"Token {token.name!r} for {user.username} (shown only once):")
        self.stdout.write(raw)
