"""Email digests: each agent's unread notifications that have not been mailed yet, in one
mail per agent, at most once an hour or once a day as the agent chose.

:func:`queue_digests` writes a :class:`DigestEmail` and marks its notifications emailed in
one transaction per agent, so a notification is mailed at most once however often and
however many times in parallel it runs. :func:`send_queued` then sends the queue through
the default mailer (``MAILERS["default"]``); a failed send waits and is tried again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from kapula.core.models import User
from kapula.notifications.models import (
    DigestEmail,
    DigestStatus,
    Frequency,
    Notification,
    Preferences,
)
from kapula.notifications.texts import describe

log = logging.getLogger("kapula.notifications")

PERIODS = {Frequency.HOURLY: timedelta(hours=1), Frequency.DAILY: timedelta(days=1)}
#: a digest lists at most this many notifications (the newest) and counts the rest
MAX_ITEMS = 100
MAX_ATTEMPTS = 10


def _language(user: User) -> str:
    lang = user.language or (user.organisation.default_language if user.organisation else "")
    return lang if lang in ("fi", "sv", "en") else "fi"


def _due_users(now: datetime) -> list[tuple[User, str]]:
    """(user, frequency) of every agent with unmailed unread notifications whose digest
    period has passed since their last digest."""
    candidates = list(User.objects.filter(
        is_active=True, notifications__emailed_at__isnull=True,
        notifications__read_at__isnull=True).exclude(email="").distinct()
        .select_related("organisation").order_by("pk"))
    if not candidates:
        return []
    ids = [u.pk for u in candidates]
    freq = dict(Preferences.objects.filter(user_id__in=ids).values_list("user_id", "frequency"))
    last = dict(DigestEmail.objects.filter(recipient_id__in=ids).values("recipient_id")
                .annotate(at=Max("created_at")).values_list("recipient_id", "at"))
    due = []
    for user in candidates:
        frequency = freq.get(user.pk, Frequency.DAILY)
        if frequency == Frequency.OFF:
            continue
        previous = last.get(user.pk)
        if previous is None or previous <= now - PERIODS[Frequency(frequency)]:
            due.append((user, frequency))
    return due


def _compose(user: User, items: list[Notification], total: int) -> tuple[str, str, str]:
    lang = _language(user)
    base = settings.KAPULA_BASE_URL.rstrip("/")
    with translation.override(lang):
        subject = ngettext("Kapula: %(count)d new notification",
                           "Kapula: %(count)d new notifications", total) % {"count": total}
        body = render_to_string("notifications/digest.txt", {
            "user": user, "total": total, "more": total - len(items),
            "items": [{"text": describe(n), "at": n.created_at,
                       "url": f"{base}/tickets/{n.ticket_id}/"} for n in items],
            "page_url": f"{base}/notifications/",
            "preferences_url": f"{base}/notifications/preferences/",
        })
    return subject, body, lang


def queue_digests(now: datetime | None = None) -> int:
    """Queue one digest for every agent who is due. Returns how many were queued."""
    now = now or timezone.now()
    queued = 0
    for user, _frequency in _due_users(now):
        with transaction.atomic():
            qs = Notification.objects.filter(recipient=user, emailed_at__isnull=True,
                                             read_at__isnull=True)
            if connection.features.has_select_for_update_skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            pending = list(qs.order_by("-created_at", "-id"))
            if not pending:
                continue  # read meanwhile, or another run has them
            subject, body, lang = _compose(user, pending[:MAX_ITEMS], len(pending))
            digest = DigestEmail.objects.create(
                organisation_id=user.organisation_id, recipient=user, to=user.email,
                language=lang, subject=subject[:400], body_text=body, count=len(pending),
                created_at=now, next_attempt_at=min(now, timezone.now()))
            Notification.objects.filter(pk__in=[n.pk for n in pending]).update(
                emailed_at=now, digest=digest)
            queued += 1
    return queued


def send_queued(limit: int = 200) -> tuple[int, int]:
    """Send queued digests through the default mailer: (sent, failed this round)."""
    sent = failed = 0
    ids = list(DigestEmail.objects.filter(status=DigestStatus.QUEUED,
                                          next_attempt_at__lte=timezone.now())
               .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    smtp = None
    try:
        for pk in ids:
            with transaction.atomic():
                qs = DigestEmail.objects.filter(pk=pk, status=DigestStatus.QUEUED)
                if connection.features.has_select_for_update_skip_locked:
                    qs = qs.select_for_update(skip_locked=True)
                mail = qs.first()
                if mail is None:
                    continue  # another worker has it
                message = EmailMessage(
                    subject=mail.subject, body=mail.body_text, to=[mail.to],
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    headers={"Auto-Submitted": "auto-generated",
                             "X-Auto-Response-Suppress": "All", "Precedence": "bulk",
                             "X-Kapula-Loop": settings.KAPULA_INSTANCE_ID,
                             "Content-Language": mail.language})
                mail.attempts += 1
                try:
                    if smtp is None:
                        smtp = mailers.default
                        smtp.open()
                    smtp.send_messages([message])
                except Exception as exc:  # SMTP down, refused, timed out ...
                    failed += 1
                    mail.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if mail.attempts >= MAX_ATTEMPTS:
                        mail.status = DigestStatus.FAILED
                    else:
                        mail.next_attempt_at = timezone.now() + timedelta(
                            minutes=min(2 ** mail.attempts, 60))
                    mail.save(update_fields=["attempts", "last_error", "status",
                                             "next_attempt_at"])
                    log.warning("sending digest %s failed: %s", mail.pk, exc)
                    if smtp is not None:
                        with contextlib.suppress(Exception):
                            smtp.close()
                    smtp = None
                    continue
                mail.status = DigestStatus.SENT
                mail.sent_at = timezone.now()
                mail.last_error = ""
                mail.save(update_fields=["status", "sent_at", "attempts", "last_error"])
                sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()
    return sent, failed


def run(now: datetime | None = None) -> dict[str, int]:
    """One digest pass: queue what is due, then send the queue."""
    queued = queue_digests(now)
    sent, failed = send_queued()
    return {"queued": queued, "sent": sent, "failed": failed}
