"""``kapula sla_tick``: one scheduler pass over the SLA clocks that are due a check."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from kapula.sla.clocks import tick


class Command(BaseCommand):
    help = "Record SLA warnings and breaches that are due (one pass) and emit their events."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(tick()))
