"""Fixtures with real mail servers: Dovecot for IMAP, an aiosmtpd sink for outgoing mail."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.mail.servers import Dovecot, SmtpSink


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot per test process (each xdist worker has its own)."""
    try:
        server = Dovecot()
        server.start()
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n(CI runs scripts/mail-deps.sh before the tests.)", pytrace=False)
    yield server
    server.close()


@pytest.fixture
def imap_account(dovecot: Dovecot) -> tuple[str, str]:
    """A new Dovecot user with an empty mailbox: (user name, password)."""
    dovecot.start()  # in case a test before this one stopped it
    user = f"u{secrets.token_hex(5)}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(user, password)
    return user, password


@pytest.fixture
def smtp_sink(settings) -> Iterator[SmtpSink]:  # type: ignore[no-untyped-def]
    """An SMTP server that records what it receives; Django's outgoing mail goes to it."""
    sink = SmtpSink()
    settings.MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": sink.host, "port": sink.port, "timeout": 5},
    }}
    yield sink
    sink.stop()
