"""``kapula notification_digests [--interval 300]``: run the digest pass again and again
until SIGTERM or SIGINT (``make run`` starts it). Several may run at once."""

from __future__ import annotations

import logging

from kapula.core.management.periodic import PeriodicCommand
from kapula.notifications.digest import run


class Command(PeriodicCommand):
    help = "Queue and send notification email digests every --interval seconds."
    default_interval = 300.0
    label = "Notification digests"
    logger = logging.getLogger("kapula.notifications")

    def run_once(self) -> dict[str, int]:
        return run()

    def worth_logging(self, result: dict[str, int]) -> bool:
        return bool(result["queued"] or result["failed"])
