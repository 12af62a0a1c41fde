"""``kapula send_digests``: one pass of the notification email digests (queue what is due,
send the queue). Running it again sends nothing twice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kapula.notifications.digest import run


class Command(BaseCommand):
    help = "Queue and send the notification email digests that are due."

    def handle(self, *args: Any, **options: Any) -> None:
        result = run()
        self.stdout.write(f"queued {result['queued']}, sent {result['sent']}, "
                          f"failed {result['failed']}")
