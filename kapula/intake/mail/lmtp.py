"""A listener for sites whose own mail server delivers to Kapula.

LMTP (RFC 2033) by default: the mail server (Postfix ``lmtp:``, Exim ``lmtp`` transport)
hands over each message and gets one answer per recipient. Plain SMTP is available for
servers that can only relay. Only the addresses of active mailboxes of the "LMTP/SMTP"
kind are accepted.

A 250 answer is given only after :func:`~kapula.intake.mail.ingest.ingest` has committed
the message. When the database is unreachable the answer is ``451 4.3.0``, so the mail
server keeps the message and tries again; ingest recognises a message it already has, so a
retry never makes a second ticket.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import close_old_connections, connections

from kapula.intake.mail.ingest import ingest
from kapula.intake.mail.models import Mailbox, MailboxKind

log = logging.getLogger("kapula.mail")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2424
#: announced with the SIZE extension; larger messages are refused before transfer
MAX_MESSAGE_BYTES = 60 * 1024 * 1024
WORKERS = 4

OK = "250 2.0.0 Delivered"
RCPT_OK = "250 2.1.5 Recipient ok"
UNKNOWN = "550 5.1.1 No such mailbox here"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"

def find_mailbox(address: str) -> Mailbox | None:
    """The active LMTP/SMTP mailbox for an envelope recipient (case-insensitively)."""
    address = address.strip().strip("<>")
    if not address:
        return None
    return (Mailbox.objects.filter(is_active=True, kind=MailboxKind.LMTP,
                                   address__iexact=address)
            .select_related("organisation").first())


def _in_worker[T](func: Callable[..., T], *args: Any) -> T:
    """Run Django code in a worker thread and leave no database connection behind (the
    worker threads are not ours to manage between calls)."""
    close_old_connections()
    try:
        return func(*args)
    finally:
        connections.close_all()


def deliver(raw: bytes, recipients: list[str], source: str) -> list[str]:
    """Ingest the message once for each distinct mailbox among the recipients; one reply
    line per recipient, in order."""
    replies: list[str] = [TRY_LATER] * len(recipients)
    groups: dict[int, tuple[Mailbox, list[int]]] = {}
    for index, rcpt in enumerate(recipients):
        try:
            mailbox = find_mailbox(rcpt)
        except Exception:
            log.exception("looking up the mailbox for %s failed", rcpt)
            continue
        if mailbox is None:  # deactivated since RCPT
            replies[index] = UNKNOWN
            continue
        groups.setdefault(mailbox.pk, (mailbox, []))[1].append(index)
    for mailbox, indexes in groups.values():
        try:
            result = ingest(raw, mailbox=mailbox, source=source,
                            recipients=[recipients[i] for i in indexes])
        except Exception:
            log.exception("mailbox %s: storing a delivered message failed; the sender is "
                          "asked to try again", mailbox.address)
            continue
        log.info("mailbox %s: %s %s %s", mailbox.address, result.outcome,
                 result.ticket_number, result.reason)
        for i in indexes:
            replies[i] = OK
    return replies


def combined_reply(replies: list[str]) -> str:
    """SMTP has one answer for all recipients: try again later if any delivery failed
    temporarily (the ones that succeeded are recognised as duplicates on the retry)."""
    if any(r.startswith("4") for r in replies):
        return TRY_LATER
    if replies and all(r.startswith("5") for r in replies):
        return UNKNOWN
    return OK


class DeliveryHandler:
    """aiosmtpd handler: recipient checks and the hand-over to ingest, both in a worker
    thread because the ORM is synchronous."""

    def __init__(self, executor: ThreadPoolExecutor, *, lmtp: bool) -> None:
        self.executor = executor
        self.lmtp = lmtp

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, _in_worker, func, *args)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        try:
            mailbox = await self._run(find_mailbox, address)
        except Exception:
            log.exception("looking up the mailbox for %s failed", address)
            return TRY_LATER
        if mailbox is None:
            return UNKNOWN
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        recipients = list(envelope.rcpt_tos)
        try:
            replies = await self._run(deliver, bytes(raw), recipients,
                                      "lmtp" if self.lmtp else "smtp")
        except Exception:
            log.exception("delivering a message failed")
            replies = [TRY_LATER] * len(recipients)
        if not self.lmtp:
            return combined_reply(replies)
        # RFC 2033 4.2: after the data, one reply for each accepted recipient, in order.
        # aiosmtpd sends the returned line; the others are pushed before it.
        for line in replies[:-1]:
            await server.push(line)
        return replies[-1] if replies else OK


class _Controller(Controller):
    def __init__(self, handler: DeliveryHandler, host: str, port: int, *, lmtp: bool) -> None:
        super().__init__(handler, hostname=host, port=port,
                         server_hostname=socket.gethostname(), ident="Kapula",
                         data_size_limit=MAX_MESSAGE_BYTES)
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)


class Listener:
    """A running listener (in a thread of its own). ``stop()`` closes it."""

    def __init__(self, host: str, port: int, *, lmtp: bool) -> None:
        self.host = host
        self.port = port
        self.lmtp = lmtp
        self._executor = ThreadPoolExecutor(max_workers=WORKERS,
                                            thread_name_prefix="kapula-mail-delivery")
        self._controller = _Controller(DeliveryHandler(self._executor, lmtp=lmtp), host, port,
                                       lmtp=lmtp)

    def start(self) -> None:
        try:
            self._controller.start()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        log.debug("%s listener on %s port %d", "LMTP" if self.lmtp else "SMTP", self.host,
                  self.port)

    def stop(self) -> None:
        self._controller.stop(no_assert=True)
        self._executor.shutdown(wait=True)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, lmtp: bool = True) -> Listener:
    """Start a listener in the background and return it."""
    listener = Listener(host, port, lmtp=lmtp)
    listener.start()
    return listener


def run_forever(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, lmtp: bool = True,
                stop: threading.Event | None = None) -> None:
    """Serve until ``stop`` is set (the management command sets it on SIGTERM/SIGINT)."""
    stop = stop or threading.Event()
    listener = serve(host, port, lmtp=lmtp)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        listener.stop()
        log.debug("mail listener on %s port %d stopped", host, port)
