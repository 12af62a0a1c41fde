"""``kapula email_ingest FILE...``: take RFC 5322 files in through the email channel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kapula.core.models import Organisation
from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import Mailbox


class Command(BaseCommand):
    help = ("Ingest .eml files (RFC 5322) as if they had arrived by mail; prints one JSON line "
            "per file: file, outcome (created | appended | bounce | auto_reply | duplicate | "
            "rejected), ticket, reason.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help=".eml files, or directories of them")
        parser.add_argument("--mailbox", help="the receiving mailbox's address (by default "
                            "the mailbox among each message's recipients)")
        parser.add_argument("--organisation", help="organisation slug, for messages that "
                            "name none of its mailboxes")

    def handle(self, *args: Any, **options: Any) -> None:
        mailbox = None
        org = None
        if options["mailbox"]:
            mailbox = Mailbox.objects.filter(address__iexact=options["mailbox"]).first()
            if mailbox is None:
                raise CommandError(f"No mailbox {options['mailbox']}")
        if options["organisation"]:
            org = Organisation.objects.filter(slug=options["organisation"]).first()
            if org is None:
                raise CommandError(f"No organisation {options['organisation']}")
        failures = 0
        for path in self._files(options["files"]):
            try:
                raw = path.read_bytes()
            except OSError as exc:
                failures += 1
                line = {"file": str(path), "outcome": "rejected", "ticket": None,
                        "reason": f"cannot read the file: {exc.strerror or exc}"}
            else:
                result = ingest(raw, mailbox=mailbox, organisation=org, source="file")
                line = result.as_dict(file=str(path))
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        if failures:
            raise CommandError(f"{failures} file(s) could not be read")

    @staticmethod
    def _files(names: list[str]) -> list[Path]:
        out: list[Path] = []
        for name in names:
            path = Path(name)
            if path.is_dir():
                out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
            else:
                out.append(path)
        return out
