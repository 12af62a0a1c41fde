"""``kapula notification_digests [--interval 300]``: run the digest pass again and again
until SIGTERM or SIGINT (``make run`` starts it). Several may run at once."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from kapula.notifications.digest import run

log = logging.getLogger("kapula.notifications")


class Command(BaseCommand):
    help = "Queue and send notification email digests every --interval seconds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=300.0,
                            help="Seconds between passes (default 300).")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(float(options["interval"]), 1.0)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stderr.write(f"Notification digests: a pass every {interval:g} s")
        while not stop.is_set():
            try:
                close_old_connections()
                result = run()
                if result["queued"] or result["failed"]:
                    log.info("digest pass: %s", result)
            except Exception:
                log.exception("the digest pass failed; trying again at the next interval")
            stop.wait(interval)
        self.stderr.write("Stopped.")
