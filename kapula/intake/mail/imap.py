"""Fetching a mailbox's mail over IMAP, each message exactly once.

The server keeps the state. A message counts as done only when it carries our keyword
(``$KapulaDone``), or ``\\Seen`` on servers that keep no keywords, or when it has been
moved to the mailbox's done folder. The order for every message is:

1. fetch it with ``BODY.PEEK[]`` (fetching alone never marks it read),
2. :func:`~kapula.intake.mail.ingest.ingest` it; that commits the message and its outcome
   before it returns,
3. only then mark it done (or move it).

A crash between 2 and 3 leaves the message undone on the server: the next pass fetches it
again and ingest answers "duplicate" (it remembers each mailbox's Message-IDs), after which
the message is marked done. If ingest raises (the database is down), the pass stops
without touching the message, so it is fetched again later. Nothing is ever skipped: an
oversized message is fetched and handed over like any other (ingest quarantines it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connections
from django.utils import timezone
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import SocketTimeout

from kapula.intake.mail.ingest import IngestResult, ingest
from kapula.intake.mail.models import ImapSecurity, Mailbox, MailboxKind

log = logging.getLogger("kapula.mail")

DONE_KEYWORD = "$KapulaDone"
SEEN = "\\Seen"
DELETED = "\\Deleted"

CONNECT_TIMEOUT = 15.0
#: every read and write on the connection; a FETCH of a big message reads in many pieces
READ_TIMEOUT = 120.0
#: message bodies are fetched in batches of at most this many messages and bytes
BATCH_MESSAGES = 20
BATCH_BYTES = 20 * 1024 * 1024
#: sizes are asked for this many messages at a time
SIZE_CHUNK = 200
#: messages above this are still fetched (alone) and ingested; ingest quarantines them
HARD_MAX_BYTES = 60 * 1024 * 1024
#: RFC 2177: a client should end IDLE and issue it again at least every 29 minutes
IDLE_RENEW_SECONDS = 25 * 60
#: how often a waiting watcher looks at its stop event
STOP_CHECK_SECONDS = 1.0
BACKOFF_MIN = 1.0
BACKOFF_MAX = 300.0
MAX_ERROR_CHARS = 2000


class ImapError(Exception):
    """A mailbox that cannot be fetched as configured (the message is shown to admins)."""


class PassFailed(Exception):
    """A pass stopped early; its messages stay on the server for the next pass."""


@dataclass
class PassReport:
    """What one pass did: one result per ingested message, and the error that ended the
    pass early (empty when the pass completed)."""

    results: list[IngestResult] = field(default_factory=list)
    error: str = ""


# --- connection -------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def connect(mailbox: Mailbox) -> IMAPClient:
    """A logged-in connection to the mailbox's server (no folder selected yet)."""
    host = mailbox.imap_host.strip()
    if not host:
        raise ImapError("no IMAP server is configured")
    password = mailbox.imap_password()
    if not password:
        variable = mailbox.imap_password_env or "(none named)"
        raise ImapError(f"the password environment variable {variable} is empty or unset")
    timeout = SocketTimeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    security = mailbox.imap_security
    if security == ImapSecurity.SSL:
        client = IMAPClient(host, mailbox.imap_port, ssl=True,
                            ssl_context=ssl.create_default_context(), timeout=timeout)
    elif security in (ImapSecurity.STARTTLS, ImapSecurity.NONE):
        if security == ImapSecurity.NONE and not _is_loopback(host):
            raise ImapError("an unencrypted IMAP connection is allowed only to this machine "
                            "(a loopback address)")
        client = IMAPClient(host, mailbox.imap_port, ssl=False, timeout=timeout)
    else:
        raise ImapError(f"unknown IMAP security setting {security!r}")
    try:
        if security == ImapSecurity.STARTTLS:
            client.starttls(ssl.create_default_context())
        client.login(mailbox.imap_username, password)
    except BaseException:
        disconnect(client)
        raise
    return client


def disconnect(client: IMAPClient) -> None:
    """Log out politely; on a broken connection just close the socket."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):  # already gone: nothing left to close
            client.shutdown()


def describe(exc: BaseException) -> str:
    """A short text of an error for ``Mailbox.last_error``."""
    if isinstance(exc, ImapError | PassFailed):
        text = str(exc)
    elif isinstance(exc, OSError) and not str(exc):
        text = type(exc).__name__
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:MAX_ERROR_CHARS]


def record_status(mailbox: Mailbox, error: str) -> None:
    """Write when the mailbox was last checked and how it went. A plain UPDATE: the
    watcher's copy of the row must not overwrite settings an admin changed meanwhile."""
    now = timezone.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_checked_at=now, last_error=error)
    mailbox.last_checked_at = now
    mailbox.last_error = error


def _record_quietly(mailbox: Mailbox, error: str) -> None:
    try:
        record_status(mailbox, error)
    except Exception:
        log.exception("mailbox %s: could not record its status", mailbox.address)


# --- one pass ---------------------------------------------------------------------------


def _flag_names(values: Sequence[Any]) -> set[str]:
    return {(v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)).lower()
            for v in values}


def _select(client: IMAPClient, folder: str) -> bool:
    """Select the folder; True when the server keeps our keyword on its messages."""
    info = client.select_folder(folder)
    if b"PERMANENTFLAGS" not in info:
        return True  # RFC 3501: without the response every flag is permanent
    permanent = _flag_names(info[b"PERMANENTFLAGS"])
    return "\\*" in permanent or DONE_KEYWORD.lower() in permanent


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if client.folder_exists(folder):
        return
    try:
        client.create_folder(folder)
    except IMAPClientError:
        if not client.folder_exists(folder):  # another client may have just created it
            raise


def _move(client: IMAPClient, uids: list[int], folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # a plain EXPUNGE would also remove what people deleted but may still undo; the
        # copies are in the done folder and these carry our flag, so they are not fetched
        log.info("IMAP server has no UIDPLUS: moved messages are left marked \\Deleted")


def _batches(client: IMAPClient, uids: list[int]) -> Iterator[list[int]]:
    """The UIDs in order, grouped so that one FETCH brings a modest amount of mail."""
    for start in range(0, len(uids), SIZE_CHUNK):
        chunk = uids[start:start + SIZE_CHUNK]
        sizes = client.fetch(chunk, ["RFC822.SIZE"])
        batch: list[int] = []
        total = 0
        for uid in chunk:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0) or 0)
            if batch and (len(batch) >= BATCH_MESSAGES or total + size > BATCH_BYTES):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch


def _run_pass(client: IMAPClient, mailbox: Mailbox, report: PassReport,
              stop: threading.Event | None = None) -> None:
    """Ingest every message of the folder that is not done yet, oldest UID first. IMAP
    errors propagate (the caller reconnects); an ingest failure ends the pass quietly with
    ``report.error`` set."""
    keyword = _select(client, mailbox.imap_folder)
    done_flags = [DONE_KEYWORD, SEEN] if keyword else [SEEN]
    done_folder = mailbox.imap_done_folder.strip()
    if done_folder == mailbox.imap_folder:
        done_folder = ""
    if done_folder:
        _ensure_folder(client, done_folder)
        if keyword:
            # ingested and flagged, but the move did not happen (a crash or lost connection)
            leftovers = sorted(client.search(["KEYWORD", DONE_KEYWORD, "UNDELETED"]))
            if leftovers:
                _move(client, leftovers, done_folder)
    criteria = ["UNKEYWORD", DONE_KEYWORD, "UNDELETED"] if keyword else ["UNSEEN", "UNDELETED"]
    uids = sorted(client.search(criteria))
    if uids:
        log.info("mailbox %s: %d new message(s)", mailbox.address, len(uids))
    for batch in _batches(client, uids):
        fetched = client.fetch(batch, ["BODY.PEEK[]", "RFC822.SIZE"])
        for uid in batch:
            if stop is not None and stop.is_set():
                return
            data = fetched.get(uid)
            if data is None:
                continue  # expunged by someone else since the search
            raw = data.get(b"BODY[]")
            if raw is None:
                log.warning("mailbox %s: the server sent no content for UID %s; it stays "
                            "for the next pass", mailbox.address, uid)
                report.error = f"the server sent no content for message UID {uid}"
                continue
            size = int(data.get(b"RFC822.SIZE", 0) or 0)
            if max(size, len(raw)) > HARD_MAX_BYTES:
                log.warning("mailbox %s: UID %s is %d bytes, over the hard limit; it is "
                            "handed over for quarantine", mailbox.address, uid, len(raw))
            try:
                result = ingest(bytes(raw), mailbox=mailbox, source="imap")
            except Exception as exc:
                log.exception("mailbox %s: storing UID %s failed; it stays on the server "
                              "for the next pass", mailbox.address, uid)
                report.error = f"storing a message failed: {describe(exc)}"[:MAX_ERROR_CHARS]
                return
            report.results.append(result)
            # the message is committed: only now may the server forget about it
            client.add_flags([uid], done_flags, silent=True)
            if done_folder:
                _move(client, [uid], done_folder)


def run_pass(mailbox: Mailbox, stop: threading.Event | None = None) -> PassReport:
    """Connect, take in what is new, disconnect and record the mailbox's status. Never
    raises for mail or server problems: they end up in ``report.error``."""
    report = PassReport()
    try:
        client = connect(mailbox)
        try:
            _run_pass(client, mailbox, report, stop)
        finally:
            disconnect(client)
    except Exception as exc:
        log.warning("mailbox %s: %s", mailbox.address, describe(exc))
        report.error = describe(exc)
    _record_quietly(mailbox, report.error)
    return report


def fetch_once(mailbox: Mailbox) -> list[IngestResult]:
    """One pass over the mailbox (``fetch_mail --once``). Errors are recorded in the
    mailbox's ``last_error``."""
    return run_pass(mailbox).results


# --- watching ---------------------------------------------------------------------------


class _Backoff:
    def __init__(self) -> None:
        self.delay = BACKOFF_MIN

    def reset(self) -> None:
        self.delay = BACKOFF_MIN

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, BACKOFF_MAX)
        return delay


def _news(responses: list[Any]) -> bool:
    """Whether IDLE responses say that mail arrived; raises when the server says bye."""
    for response in responses:
        if not isinstance(response, tuple) or len(response) < 2:
            continue
        if response[0] == b"BYE":
            raise ConnectionError("the IMAP server closed the connection")
        if response[1] in (b"EXISTS", b"RECENT"):
            return True
    return False


def _wait_for_mail(client: IMAPClient, mailbox: Mailbox, stop: threading.Event) -> None:
    """Return when new mail may have arrived, after ``poll_seconds`` at the latest."""
    poll = max(1, mailbox.poll_seconds)
    if not client.has_capability("IDLE"):
        stop.wait(poll)
        return
    deadline = time.monotonic() + min(poll, IDLE_RENEW_SECONDS)
    client.idle()
    try:
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            window = min(STOP_CHECK_SECONDS, remaining)
            began = time.monotonic()
            responses = client.idle_check(timeout=window)
            if _news(responses):
                break
            if not responses and time.monotonic() - began < window / 2:
                # the socket was readable but gave no line: the server has gone; ending
                # IDLE below fails and the watcher reconnects
                break
    finally:
        client.idle_done()


def _tell(on_pass: Callable[[PassReport], None] | None, report: PassReport) -> None:
    if on_pass is None:
        return
    try:
        on_pass(report)
    except Exception:
        log.exception("a pass observer failed")


def _refresh(mailbox: Mailbox) -> bool:
    """Reload the row (an admin may have changed it); False when it is no longer an
    active IMAP mailbox."""
    current = Mailbox.objects.filter(pk=mailbox.pk).first()
    if current is None or not current.is_active or current.kind != MailboxKind.IMAP:
        return False
    for f in Mailbox._meta.concrete_fields:
        setattr(mailbox, f.attname, getattr(current, f.attname))
    return True


def _session(mailbox: Mailbox, stop: threading.Event, backoff: _Backoff,
             on_pass: Callable[[PassReport], None] | None) -> bool:
    """One connection's life: passes and waits until stop or an error. False when the
    mailbox should no longer be watched."""
    close_old_connections()
    if not _refresh(mailbox):
        return False
    client = connect(mailbox)
    try:
        while not stop.is_set():
            close_old_connections()
            report = PassReport()
            try:
                _run_pass(client, mailbox, report, stop)
            except Exception as exc:
                report.error = describe(exc)
                raise
            finally:
                close_old_connections()
                _tell(on_pass, report)
            record_status(mailbox, report.error)
            if report.error:
                raise PassFailed(report.error)
            backoff.reset()
            if stop.is_set():
                break
            _wait_for_mail(client, mailbox, stop)
    finally:
        disconnect(client)
    return True


def watch(mailbox: Mailbox, stop: threading.Event, *,
          on_pass: Callable[[PassReport], None] | None = None) -> None:
    """Take in the mailbox's mail until ``stop`` is set: a pass, then wait with IDLE (or
    sleep ``poll_seconds`` when the server has none), and so on. Connection and database
    failures are logged and recorded, and the watcher reconnects after a growing pause
    (1 s up to 5 min). Meant to run in its own thread; ``on_pass`` sees each pass's
    report."""
    backoff = _Backoff()
    try:
        while not stop.is_set():
            try:
                if not _session(mailbox, stop, backoff, on_pass):
                    log.info("mailbox %s is no longer an active IMAP mailbox; not watching "
                             "it", mailbox.address)
                    return
            except Exception as exc:
                delay = backoff.next()
                if not isinstance(exc, PassFailed):
                    log.warning("mailbox %s: %s; trying again in %.0f s", mailbox.address,
                                describe(exc), delay)
                    close_old_connections()
                    _record_quietly(mailbox, describe(exc))
                stop.wait(delay)
    finally:
        connections.close_all()
