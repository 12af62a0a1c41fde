"""``kapula mail_listener [--host 127.0.0.1] [--port 2424] [--smtp]``: receive mail that
the organisation's mail server delivers (LMTP; plain SMTP with ``--smtp``)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from kapula.intake.mail.lmtp import DEFAULT_HOST, DEFAULT_PORT, run_forever


class Command(BaseCommand):
    help = ("Receive mail for the LMTP/SMTP mailboxes from the organisation's mail server "
            "and turn it into tickets.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST,
                            help="Address to listen on (default: loopback only).")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument("--smtp", action="store_true",
                            help="Speak SMTP instead of LMTP.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        connections.close_all()  # the deliveries use connections of their own threads
        protocol = "SMTP" if options["smtp"] else "LMTP"
        self.stderr.write(f"{protocol} listener on {options['host']} port {options['port']}")
        run_forever(options["host"], options["port"], lmtp=not options["smtp"], stop=stop)
        self.stderr.write("Stopped.")
