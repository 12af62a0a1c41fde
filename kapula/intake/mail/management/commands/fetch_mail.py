"""``kapula fetch_mail [--once] [--mailbox ADDRESS]``: take in mail from IMAP mailboxes.

With ``--once``: one pass over each active IMAP mailbox, one JSON line per message on
stdout. Without it: one watcher thread per mailbox (IDLE or polling) until SIGTERM or
SIGINT. Mailboxes added or deactivated later are picked up within a minute.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connections
from django.db.models import QuerySet

from kapula.intake.mail.imap import run_pass, watch
from kapula.intake.mail.models import Mailbox, MailboxKind

log = logging.getLogger("kapula.mail")

#: how often the watching command looks for added or removed mailboxes
RESCAN_SECONDS = 60.0
JOIN_SECONDS = 30.0


class Command(BaseCommand):
    help = "Fetch mail from the IMAP mailboxes and turn it into tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true",
                            help="One pass over each mailbox, then exit.")
        parser.add_argument("--mailbox", metavar="ADDRESS",
                            help="Only the mailbox with this address.")

    def _mailboxes(self, address: str | None) -> QuerySet[Mailbox]:
        qs = Mailbox.objects.filter(is_active=True, kind=MailboxKind.IMAP)
        if address:
            qs = qs.filter(address__iexact=address.strip())
        return qs.select_related("organisation").order_by("address")

    def handle(self, *args: Any, **options: Any) -> None:
        address: str | None = options["mailbox"]
        if options["once"]:
            self._once(address)
        else:
            self._watch(address)

    def _once(self, address: str | None) -> None:
        mailboxes = list(self._mailboxes(address))
        if not mailboxes:
            raise CommandError(f"No active IMAP mailbox {address}." if address
                               else "No active IMAP mailboxes.")
        failed = []
        for mailbox in mailboxes:
            report = run_pass(mailbox)
            for result in report.results:
                self.stdout.write(json.dumps(result.as_dict(mailbox=mailbox.address),
                                             ensure_ascii=False))
            if report.error:
                failed.append(mailbox.address)
                self.stderr.write(json.dumps({"mailbox": mailbox.address,
                                              "error": report.error}, ensure_ascii=False))
        if failed:
            raise CommandError("Fetching failed for " + ", ".join(failed) + ".")

    def _watch(self, address: str | None) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        watchers: dict[int, tuple[threading.Event, threading.Thread]] = {}
        try:
            while not stop.is_set():
                try:
                    close_old_connections()
                    wanted = {m.pk: m for m in self._mailboxes(address)}
                except Exception:
                    log.exception("listing the mailboxes failed; the watchers carry on")
                    stop.wait(RESCAN_SECONDS)
                    continue
                finally:
                    connections.close_all()
                for pk in list(watchers):
                    own_stop, thread = watchers[pk]
                    if pk not in wanted or not thread.is_alive():
                        own_stop.set()
                        thread.join(JOIN_SECONDS)
                        del watchers[pk]
                for pk, mailbox in wanted.items():
                    if pk in watchers:
                        continue
                    own_stop = threading.Event()
                    thread = threading.Thread(target=watch, args=(mailbox, own_stop),
                                              name=f"imap {mailbox.address}", daemon=True)
                    thread.start()
                    watchers[pk] = (own_stop, thread)
                    self.stderr.write(f"Watching {mailbox.address}")
                if not watchers and address:
                    raise CommandError(f"No active IMAP mailbox {address}.")
                stop.wait(RESCAN_SECONDS)
        finally:
            for own_stop, _thread in watchers.values():
                own_stop.set()
            for _own_stop, thread in watchers.values():
                thread.join(JOIN_SECONDS)
            self.stderr.write("Stopped.")
