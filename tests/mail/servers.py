"""Real mail servers for the tests: a private Dovecot (IMAP) and an aiosmtpd SMTP sink.

Both listen on loopback ports chosen at run time, so parallel test workers do not meet.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from imapclient import IMAPClient

DOVECOT = Path("/usr/sbin/dovecot")
START_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                return sock.recv(4) != b""
        except OSError:
            time.sleep(0.05)
    return False


class Dovecot:
    """A Dovecot IMAP server with its own configuration, users and maildirs in a
    temporary directory. ``start()`` / ``stop()`` may be repeated (same port, same mail),
    ``close()`` removes everything."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        if not DOVECOT.exists():
            raise RuntimeError(
                f"{DOVECOT} is missing: the IMAP tests need Debian's dovecot-imapd. "
                "Install it with scripts/mail-deps.sh.")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="kapula-dovecot-"))
        self.passwords: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            # Dovecot will not touch mail as root: the mail belongs to its own user
            mail_user = pwd.getpwnam("dovecot")
            self.internal_user, self.login_user = "dovecot", "dovenull"
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            self.internal_user = self.login_user = mail_user.pw_name
        self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
        self.root.chmod(0o755)  # the mail processes run as self.uid and must get through
        self.mail_root = self.root / "mail"
        self.mail_root.mkdir()
        os.chown(self.mail_root, self.uid, self.gid)
        # one passwd-file per user: Dovecot rereads a changed file at most once a second
        self.users_dir = self.root / "users"
        self.users_dir.mkdir()
        self.log_file = self.root / "dovecot.log"
        self.config = self.root / "dovecot.conf"
        self.config.write_text(self._config())

    def _config(self) -> str:
        root = self.root
        return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {self.log_file}
info_log_path = {self.log_file}
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {self.internal_user}
default_login_user = {self.login_user}
first_valid_uid = {min(self.uid, 100)}
last_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:~/Maildir
mail_uid = {self.uid}
mail_gid = {self.gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.mail_root}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  # no growing delays after failed logins (tests log in wrongly on purpose)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  imap_idle_notify_interval = 1 mins
}}
"""

    # --- process ---------------------------------------------------------------------

    def start(self) -> None:
        if self.process is not None:
            return
        with (self.root / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.config)], start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=stderr)
        if not wait_for_port(self.host, self.port, START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"Dovecot did not start on {self.host}:{self.port} within "
                               f"{START_TIMEOUT:.0f} s.\n{self.log()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        # the master is gone; its children die with the process group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts) or "(Dovecot wrote no log)"

    # --- users and mail --------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        self.passwords[name] = password
        if not re.fullmatch(r"[a-z0-9_]+", name):
            raise ValueError("test user names are lowercase letters, digits and _")
        (self.users_dir / name).write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        home = self.mail_root / name
        home.mkdir(exist_ok=True)
        os.chown(home, self.uid, self.gid)

    def client(self, user: str) -> IMAPClient:
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        client.login(user, self.passwords[user])
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """Put a message into the user's folder like a delivering server would; its UID."""
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            imap.login(user, self.passwords[user])
            status, data = imap.append(folder, "", None, raw)
            assert status == "OK", data
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            return int(found.group(1)) if found else 0
        finally:
            imap.logout()

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> the message's flags, e.g. {1: {"\\Seen", "$KapulaDone"}}."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            found = client.get_flags(uids) if uids else {}
            return {uid: {f.decode() if isinstance(f, bytes) else f for f in flags}
                    for uid, flags in found.items()}

    def folders(self, user: str) -> set[str]:
        with self.client(user) as client:
            return {name for _flags, _sep, name in client.list_folders()}


# --- SMTP sink ---------------------------------------------------------------------------


class _SinkHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        failure = self.sink.failure
        if failure is not None:
            return failure
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.sink.failure
        if failure is not None:
            return failure
        raw = envelope.original_content or b""
        self.sink._record(envelope.mail_from or "", list(envelope.rcpt_tos), bytes(raw))
        return "250 2.0.0 Accepted"


class SmtpSink:
    """An SMTP server that keeps every message it is given.

    ``messages``: (mail_from, rcpt_tos, raw bytes) in arrival order. ``fail_with(451)``
    makes it answer that code to every transaction (``None`` to recover); ``stop()`` and
    ``start()`` take it off and back on line at the same port."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        self._messages: list[tuple[str, list[str], bytes]] = []
        self.failure: str | None = None
        self._controller: Controller | None = None
        self.start()

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        with self._lock:
            return list(self._messages)

    def _record(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        with self._lock:
            self._messages.append((mail_from, rcpt_tos, raw))

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[str, list[str], bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages
            if len(found) >= count:
                return found
            time.sleep(0.02)
        return self.messages

    def fail_with(self, code: int | None) -> None:
        if code is None:
            self.failure = None
        else:
            detail = "4.3.0" if 400 <= code < 500 else "5.0.0"
            self.failure = f"{code} {detail} Simulated failure of the test server"

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(_SinkHandler(self), hostname=self.host, port=self.port,
                                server_hostname="sink.test", ready_timeout=10)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
