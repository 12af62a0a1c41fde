"""``kapula sla_scheduler [--interval 30]``: run the SLA pass again and again until SIGTERM
or SIGINT. Several may run at once (rows are claimed with SKIP LOCKED on PostgreSQL)."""

from __future__ import annotations

import logging

from kapula.core.management.periodic import PeriodicCommand
from kapula.sla.clocks import tick


class Command(PeriodicCommand):
    help = "Check the SLA clocks every --interval seconds (warnings, breaches, events)."
    default_interval = 30.0
    label = "SLA scheduler"
    logger = logging.getLogger("kapula.sla")

    def run_once(self) -> dict[str, int]:
        return tick()

    def worth_logging(self, result: dict[str, int]) -> bool:
        return bool(result["warnings"] or result["breaches"])
