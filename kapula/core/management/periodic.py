"""A management command that runs one pass of some work again and again, every
``--interval`` seconds, until SIGTERM or SIGINT (the SLA scheduler, the notification digests).
A failed pass is logged and tried again at the next interval."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections


class PeriodicCommand(BaseCommand):
    #: seconds between passes unless --interval says otherwise
    default_interval = 60.0
    #: what the pass is, for the log and the start line ("SLA scheduler")
    label = "pass"
    logger = logging.getLogger("kapula")

    def run_once(self) -> dict[str, int]:
        """One pass; returns its counts."""
        raise NotImplementedError

    def worth_logging(self, result: dict[str, int]) -> bool:
        """Whether a pass's counts go to the log (passes that did nothing do not)."""
        return any(result.values())

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=self.default_interval,
                            help=f"Seconds between passes (default {self.default_interval:g}).")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = max(float(options["interval"]), 1.0)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        self.stderr.write(f"{self.label}: a pass every {interval:g} s")
        while not stop.is_set():
            try:
                close_old_connections()
                result = self.run_once()
                if self.worth_logging(result):
                    self.logger.info("%s: %s", self.label, result)
            except Exception:
                self.logger.exception("%s failed; trying again at the next interval",
                                      self.label)
            stop.wait(interval)
        self.stderr.write("Stopped.")
