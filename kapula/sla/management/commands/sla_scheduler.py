"""``kapula sla_scheduler [--interval 30]``: run the SLA pass again and again until SIGTERM
or SIGINT. Several may run at once (rows are claimed with SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from kapula.sla.clocks import tick

log = logging.getLogger("kapula.sla")


class Command(BaseCommand):
    help = "Check the SLA clocks every --interval seconds (warnings, breaches, events)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=30.0,
                            help="Seconds between passes (default 30).")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(float(options["interval"]), 1.0)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stderr.write(f"SLA scheduler: a pass every {interval:g} s")
        while not stop.is_set():
            try:
                close_old_connections()
                result = tick()
                if result["warnings"] or result["breaches"]:
                    log.info("sla pass: %s", result)
            except Exception:
                log.exception("the SLA pass failed; trying again at the next interval")
            stop.wait(interval)
        self.stderr.write("Stopped.")
