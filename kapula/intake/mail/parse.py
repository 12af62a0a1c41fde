"""Turn raw RFC 5322 bytes into a :class:`ParsedEmail`.

Design notes:

* The stdlib parser runs with the ``compat32`` policy, which is several times
  faster than ``email.policy.default``; headers are decoded here explicitly
  (RFC 2047 words, raw 8-bit bytes, RFC 2231 parameters).
* ``parse_email`` never raises.  Whatever goes wrong is written to
  ``ParsedEmail.problems`` and the best result available is returned.
* Limits (sizes, counts, nesting) are enforced while walking the MIME tree;
  attachments that are not kept are listed in ``withheld`` with a reason.
"""

from __future__ import annotations

import binascii
import gzip
import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from .classify import BounceInfo, automatic_kind, parse_bounce
from .quotes import find_forward_line, is_forward_subject, strip_quotes, strip_quotes_html

__all__ = [
    "BounceInfo",
    "Limits",
    "ParsedAttachment",
    "ParsedEmail",
    "decode_bytes",
    "decode_words",
    "html_to_text",
    "parse_email",
]


@dataclass
class Limits:
    max_message_bytes: int = 40 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_attachments: int = 20
    max_parts: int = 500
    max_depth: int = 20
    max_body_chars: int = 100_000
    max_archive_ratio: int = 100
    max_archive_expanded_bytes: int = 200 * 1024 * 1024


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    inline: bool
    content_id: str


@dataclass
class ParsedEmail:
    message_id: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_addr: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str = ""
    visible_text: str = ""
    visible_html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    withheld: list[tuple[str, str]] = field(default_factory=list)
    auto_reply: str = ""
    auto_kind: str = ""
    bounce: BounceInfo | None = None
    forwarded: bool = False
    loop_markers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    size: int = 0


# ---------------------------------------------------------------------------
# Charsets

_CHARSET_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf-8-sig": "utf-8",
    "us-ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "iso-8859-1": "cp1252",  # the WHATWG rule: latin-1 labels mean windows-1252
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "cp-1252": "cp1252",
    "iso-8859-15": "iso8859-15",
    "iso8859-15": "iso8859-15",
    "latin-9": "iso8859-15",
    "latin9": "iso8859-15",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "tis-620": "cp874",
    "windows-874": "cp874",
}
_SAFE_CODECS: dict[str, str | None] = {}


def _codec_for(charset: str) -> str | None:
    """Python codec name for a MIME charset label, None when unknown or not a text codec."""
    label = charset.strip().strip("\"'").lower()
    if label in _SAFE_CODECS:
        return _SAFE_CODECS[label]
    name: str | None = _CHARSET_ALIASES.get(label, label)
    try:
        import codecs

        info = codecs.lookup(name or "")
        if not getattr(info, "_is_text_encoding", True) or info.name in ("rot-13",):
            name = None
        else:
            name = info.name
    except (LookupError, ValueError, TypeError):
        name = None
    if len(_SAFE_CODECS) < 500:
        _SAFE_CODECS[label] = name
    return name


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str]:
    """Decode ``data`` using ``charset`` with fallbacks; returns (text, problem or "")."""
    if data.isascii():
        return data.decode("ascii"), ""
    label = (charset or "").strip().lower()
    codec = _codec_for(label) if label else None
    if codec and codec != "ascii":
        try:
            return data.decode(codec), ""
        except (UnicodeDecodeError, LookupError):
            pass
        except Exception:  # noqa: S110 - odd codecs: fall through to the fallbacks
            pass
        if codec == "cp1252":
            return data.decode("latin-1"), ""
    try:
        text = data.decode("utf-8")
        used = "utf-8"
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        used = "windows-1252"
    if not label:
        return text, ""
    if codec is None:
        return text, f"unknown charset {label[:40]}, decoded as {used}"
    return text, f"bytes do not match charset {label[:40]}, decoded as {used}"


def _fix_8bit(value: str) -> str:
    """Header values from the bytes parser carry raw 8-bit bytes as surrogates."""
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*?)\?=")
_Q_HEX_RE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _decode_word(kind: str, payload: str) -> bytes:
    if kind in "Bb":
        data = payload.strip().encode("ascii", "ignore")
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        data += b"=" * (-len(data) % 4)
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            return b""
    raw = payload.replace("_", " ").encode("utf-8", "surrogateescape")
    return _Q_HEX_RE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words (and stray raw 8-bit) in a header value."""
    value = _fix_8bit(value)
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = b""
    pending_charset = ""
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(decode_bytes(pending, pending_charset or "utf-8")[0])
        pending = b""
        pending_charset = ""

    for match in _ENCODED_WORD_RE.finditer(value):
        between = value[pos : match.start()]
        if between and not (between.isspace() and pending):
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        chunk = _decode_word(match.group(2), match.group(3))
        if pending and charset != pending_charset:
            flush()
        pending += chunk
        pending_charset = charset
        pos = match.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------
# Header helpers

_MSGID_RE = re.compile(r"<([^<>]*)>")
_ADDR_FALLBACK_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", " ")


def _message_ids(value: str) -> list[str]:
    found = ["<" + re.sub(r"\s+", "", m) + ">" for m in _MSGID_RE.findall(value)]
    found = [f for f in found if len(f) > 2]
    if not found:
        for token in re.split(r"[\s,;]+", value):
            token = token.strip("<>")
            if "@" in token:
                found.append(f"<{token}>")
    return found


def _normalise_message_id(value: str) -> str:
    found = _MSGID_RE.search(value)
    if found and found.group(1).strip():
        return "<" + re.sub(r"\s+", "", found.group(1))[:993] + ">"
    value = re.sub(r"\s+", "", value).strip("<>")
    return f"<{value[:993]}>" if value else ""


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    text = [_unfold(_fix_8bit(v)) for v in values]
    try:
        pairs = getaddresses(text)
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").lower()
        if not addr or " " in addr:
            continue
        out.append((" ".join(decode_words(name).split()).strip("\"' "), addr))
    if not out:
        for value in text:
            for addr in _ADDR_FALLBACK_RE.findall(value):
                out.append(("", addr.lower()))
    return out


# ---------------------------------------------------------------------------
# HTML to text


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        (
            "p", "div", "br", "li", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
            "blockquote", "pre", "ul", "ol", "hr", "section", "article", "header", "footer",
            "dd", "dt", "address",
        )
    )
    _SKIP = frozenset(("script", "style", "head", "title", "template", "noscript"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "td":
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in self._BLOCK and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body."""
    try:
        parser = _TextExtractor()
        parser.feed(html)
        parser.close()
        raw = "".join(parser.parts)
    except Exception:
        raw = unescape(re.sub(r"<[^>]*>", " ", html))
    raw = raw.replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ---------------------------------------------------------------------------
# Attachments

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/svg+xml": ".svg",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "application/x-gzip": ".gz",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel": ".xls",
    "application/ms-tnef": ".dat",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pgp-signature": ".asc",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "text/calendar": ".ics",
    "message/rfc822": ".eml",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
}


def _clean_filename(name: str) -> str:
    name = decode_words(name) if name else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f").strip().strip(".")
    name = name.strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:200]
    return name


def _archive_verdict(content: bytes, limits: Limits) -> str:
    """A reason to withhold an archive whose expanded size is out of proportion, else ""."""
    expanded = 0
    if content[:4] == b"PK\x03\x04" or content[:4] == b"PK\x05\x06":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                for info in archive.infolist():
                    expanded += info.file_size
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                struct.error):
            return ""
        except Exception:
            return ""
    elif content[:2] == b"\x1f\x8b" and len(content) >= 18:
        expanded = struct.unpack("<I", content[-4:])[0]
        if len(content) < 1024 * 1024:
            # ISIZE is modulo 2**32: check small members properly by streaming a bounded amount.
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
                    budget = limits.max_archive_expanded_bytes + 1
                    total = 0
                    while total < budget:
                        chunk = stream.read(1024 * 1024)
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > len(content) * limits.max_archive_ratio:
                            break
                expanded = max(expanded, total)
            except (OSError, EOFError, ValueError, gzip.BadGzipFile):
                pass
            except Exception:  # noqa: S110 - keep the declared size
                pass
    else:
        return ""
    compressed = max(len(content), 1)
    if expanded > limits.max_archive_expanded_bytes:
        return f"archive expands to {expanded} bytes"
    if expanded / compressed > limits.max_archive_ratio:
        return f"archive compression ratio too high ({expanded // compressed}:1)"
    return ""


# ---------------------------------------------------------------------------
# The walk


class _State:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.withheld: list[tuple[str, str]] = []
        self.parts_seen = 0
        self.part_limit_noted = False
        self.depth_noted = False
        self.forwarded = False
        self.in_bounce = False
        self.counter: dict[str, int] = {}

    def note(self, problem: str) -> None:
        if problem not in self.problems and len(self.problems) < 50:
            self.problems.append(problem)


class _Unit:
    """Bodies of one message (the outer mail or one attached message/rfc822)."""

    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.forwards: list[tuple[str, str]] = []
        self.order: list[tuple[str, int]] = []

    def text(self) -> str:
        pieces: list[str] = []
        for kind, idx in self.order:
            if kind == "plain":
                pieces.append(self.plain[idx])
            elif kind == "html" and not self.plain:
                pieces.append(html_to_text(self.html[idx]))
            elif kind == "fwd":
                pieces.append(self.forwards[idx][0])
        return "\n\n".join(p.strip("\n") for p in pieces if p.strip())

    def html_text(self) -> str:
        if not self.html:
            return ""
        pieces: list[str] = []
        for kind, idx in self.order:
            if kind == "html":
                pieces.append(self.html[idx])
            elif kind == "fwd" and self.forwards[idx][1]:
                pieces.append(self.forwards[idx][1])
        return "\n".join(pieces)


_DEFECT_SKIP = frozenset(("MissingHeaderBodySeparatorDefect",))


def _note_defects(part: Message, state: _State, index: int) -> None:
    for defect in getattr(part, "defects", ()) or ():
        name = type(defect).__name__
        if name in _DEFECT_SKIP:
            continue
        state.note(f"malformed MIME: {name} in part {index}")


def _part_text(part: Message, state: _State, index: int) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    _note_defects(part, state, index)  # decoding may have recorded new defects
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = _fix_8bit(payload).encode("utf-8") if isinstance(payload, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text, problem = decode_bytes(data, charset)
    if problem:
        state.note(f"{problem} in part {index}")
    return text.replace("\r\n", "\n")


def _forward_block(inner: Message, unit: _Unit) -> str:
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To", "Cc"):
        value = inner.get(name)
        if value is not None:
            lines.append(f"{name}: {' '.join(decode_words(_unfold(str(value))).split())}")
    body = unit.text()
    return "\n".join(lines) + "\n\n" + body


def _forward_html(inner: Message, unit: _Unit) -> str:
    inner_html = unit.html_text()
    if not inner_html:
        return ""
    import html as _html

    rows = ["<p>---------- Forwarded message ----------<br>"]
    for name in ("From", "Date", "Subject", "To"):
        value = inner.get(name)
        if value is not None:
            clean = _html.escape(" ".join(decode_words(_unfold(str(value))).split()))
            rows.append(f"{name}: {clean}<br>")
    rows.append("</p>")
    return "".join(rows) + inner_html


def _guess_boundary(payload: str) -> str:
    match = re.search(r"^--([^\s]{1,200})\s*\n(?:[A-Za-z-]+:)", payload, re.MULTILINE)
    return match.group(1) if match else ""


def _walk(msg: Message, depth: int, state: _State, unit: _Unit) -> None:
    limits = state.limits
    stack: list[tuple[Message, int, str]] = [(msg, depth, "")]
    while stack:
        part, level, parent_type = stack.pop()
        state.parts_seen += 1
        index = state.parts_seen
        if state.parts_seen > limits.max_parts:
            if not state.part_limit_noted:
                state.note(f"more than {limits.max_parts} MIME parts; the rest ignored")
                state.part_limit_noted = True
            return
        _note_defects(part, state, index)
        try:
            ctype = part.get_content_type()
        except Exception:
            ctype = "text/plain"
        maintype = ctype.split("/", 1)[0]
        if part.is_multipart():
            if ctype.startswith("message/"):
                payload = part.get_payload()
                inner = payload[0] if isinstance(payload, list) and payload else None
                if not isinstance(inner, Message):
                    continue
                if state.in_bounce or ctype in ("message/delivery-status",):
                    continue
                if level + 1 > limits.max_depth:
                    if not state.depth_noted:
                        state.note(f"MIME nesting deeper than {limits.max_depth}; parts ignored")
                        state.depth_noted = True
                    continue
                state.forwarded = True
                inner_unit = _Unit()
                _walk(inner, level + 1, state, inner_unit)
                unit.forwards.append(
                    (_forward_block(inner, inner_unit), _forward_html(inner, inner_unit))
                )
                unit.order.append(("fwd", len(unit.forwards) - 1))
                continue
            if level + 1 > limits.max_depth:
                if not state.depth_noted:
                    state.note(f"MIME nesting deeper than {limits.max_depth}; parts ignored")
                    state.depth_noted = True
                continue
            children = part.get_payload()
            if not isinstance(children, list):
                continue
            kids = [c for c in children if isinstance(c, Message)]
            if ctype == "multipart/alternative":
                kids = _pick_alternatives(kids)
            for child in reversed(kids):
                stack.append((child, level + 1, ctype))
            continue

        if maintype == "multipart":
            # A multipart without (usable) boundary: try to recover, else treat as text.
            try:
                body = part.get_payload(decode=True)
            except Exception:
                body = None
            if isinstance(body, bytes):
                payload = body.decode("ascii", "surrogateescape")
                boundary = _guess_boundary(payload)
                if boundary and level + 1 <= limits.max_depth:
                    head = f"Content-Type: {ctype}; boundary=\"{boundary}\"\n\n"
                    data = head.encode("ascii", "replace") + body
                    try:
                        rebuilt = BytesParser(policy=compat32).parsebytes(data)
                    except Exception:
                        rebuilt = None
                    if rebuilt is not None and rebuilt.is_multipart():
                        state.note(f"malformed MIME: boundary recovered in part {index}")
                        stack.append((rebuilt, level + 1, parent_type))
                        continue
                text = decode_bytes(body, "utf-8")[0]
                if text.strip():
                    unit.plain.append(text)
                    unit.order.append(("plain", len(unit.plain) - 1))
            continue

        if ctype in ("message/delivery-status", "message/global-delivery-status",
                     "text/rfc822-headers", "text/global-headers") and state.in_bounce:
            continue

        try:
            disposition = part.get_content_disposition()
        except Exception:
            disposition = None
        try:
            raw_name = part.get_filename() or part.get_param("name") or ""
        except Exception:
            raw_name = ""
        if not isinstance(raw_name, str):
            raw_name = ""
        filename = _clean_filename(raw_name)

        if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            text = _part_text(part, state, index)
            if ctype == "text/plain":
                unit.plain.append(text)
                unit.order.append(("plain", len(unit.plain) - 1))
            else:
                unit.html.append(text)
                unit.order.append(("html", len(unit.html) - 1))
            continue
        if (
            ctype in ("text/enriched", "text/richtext", "text/x-markdown", "text/markdown")
            and disposition != "attachment"
            and not filename
        ):
            text = _part_text(part, state, index)
            unit.plain.append(text)
            unit.order.append(("plain", len(unit.plain) - 1))
            continue
        if state.in_bounce and ctype.startswith("message/"):
            continue
        _attachment(part, ctype, disposition, filename, state, index)


def _pick_alternatives(kids: list[Message]) -> list[Message]:
    """From multipart/alternative keep the last plain and last html-ish alternative."""
    plain: Message | None = None
    rich: Message | None = None
    other: Message | None = None
    for kid in kids:
        ctype = kid.get_content_type()
        if ctype == "text/plain":
            plain = kid
        elif ctype == "text/html" or ctype.startswith("multipart/"):
            rich = kid
        elif other is None and not ctype.startswith("text/"):
            other = kid
    chosen = [k for k in (plain, rich) if k is not None]
    if not chosen and other is not None:
        chosen = [other]
    return chosen


def _attachment(part: Message, ctype: str, disposition: str | None, filename: str,
                state: _State, index: int) -> None:
    limits = state.limits
    if not filename:
        prefix = ctype.split("/", 1)[0] if ctype.startswith(("image/", "audio/", "video/")) else (
            "attachment"
        )
        state.counter[prefix] = state.counter.get(prefix, 0) + 1
        filename = f"{prefix}-{state.counter[prefix]}{_EXTENSIONS.get(ctype, '.bin')}"
    content_id = ""
    try:
        cid = part.get("Content-ID")
        if cid is not None:
            content_id = re.sub(r"\s+", "", _fix_8bit(str(cid))).strip("<>")[:250]
    except Exception:
        content_id = ""

    if len(state.attachments) >= limits.max_attachments:
        state.withheld.append((filename, f"too many attachments (limit {limits.max_attachments})"))
        return
    payload = part.get_payload()
    if isinstance(payload, str) and len(payload) * 3 // 4 > limits.max_attachment_bytes * 2:
        state.withheld.append((filename, f"too large: about {len(payload) * 3 // 4} bytes"))
        return
    try:
        content = part.get_payload(decode=True)
    except Exception:
        content = None
    _note_defects(part, state, index)
    if not isinstance(content, bytes):
        state.withheld.append((filename, "undecodable content"))
        return
    if len(content) > limits.max_attachment_bytes:
        state.withheld.append((filename, f"too large: {len(content)} bytes"))
        return
    verdict = _archive_verdict(content, limits)
    if verdict:
        state.withheld.append((filename, f"suspected archive bomb: {verdict}"))
        return
    state.attachments.append(
        ParsedAttachment(
            filename=filename,
            content_type=ctype,
            content=content,
            inline=disposition == "inline",
            content_id=content_id,
        )
    )


# ---------------------------------------------------------------------------
# Entry point

_HEADER_END_RE = re.compile(rb"\r?\n\r?\n")
_MULTIPART_DECL_RE = re.compile(rb"(?i)content-type:[ \t]*(?:\r?\n[ \t]+)?multipart/")
_CID_RE = re.compile(r"""cid:([^"'\s>)]+)""", re.IGNORECASE)


def _headers_only(raw: bytes) -> Message:
    match = _HEADER_END_RE.search(raw, 0, 1024 * 1024)
    head = raw[: match.end()] if match else raw[: 256 * 1024]
    return BytesHeaderParser(policy=compat32).parsebytes(head)


def parse_email(raw: bytes, limits: Limits | None = None) -> ParsedEmail:
    """Parse one message.  Never raises; see ``ParsedEmail.problems`` for what went wrong."""
    limits = limits or Limits()
    if not isinstance(raw, bytes | bytearray | memoryview):
        raw = str(raw).encode("utf-8", "replace")
    raw = bytes(raw)
    result = ParsedEmail(size=len(raw))
    try:
        _parse_into(raw, limits, result)
    except Exception as exc:  # the last line of defence
        result.problems.append(f"malformed MIME: parser failed ({type(exc).__name__})")
        try:
            if not result.subject and not result.from_addr:
                _fill_headers(_headers_only(raw), result)
        except Exception as inner:
            result.problems.append(f"headers unreadable ({type(inner).__name__})")
    if not result.visible_text and result.text:
        result.visible_text = result.text
    return result


class _HeaderView:
    """Case-insensitive read-only header access backed by a dict (faster than Message.get)."""

    def __init__(self, headers: dict[str, list[str]]) -> None:
        self._headers = headers

    def get(self, name: str, failobj: Any = None) -> Any:
        values = self._headers.get(name.lower())
        return _fix_8bit(values[0]) if values else failobj

    def get_all(self, name: str, failobj: Any = None) -> Any:
        values = self._headers.get(name.lower())
        return [_fix_8bit(v) for v in values] if values else failobj


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


def _fill_headers(msg: Message, result: ParsedEmail) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        headers.setdefault(name.strip().lower(), []).append(value)

    mid = _first(headers, "message-id")
    result.message_id = _normalise_message_id(_fix_8bit(_unfold(mid))) if mid.strip() else ""
    if not result.message_id:
        result.problems.append("missing Message-ID")
    result.in_reply_to = _message_ids(_unfold(" ".join(headers.get("in-reply-to", []))))
    result.references = _message_ids(_unfold(" ".join(headers.get("references", []))))
    subject = _first(headers, "subject")
    result.subject = " ".join(decode_words(_unfold(subject)).split())

    senders = _addresses(headers.get("from", [])[:1])
    if not senders:
        senders = _addresses(headers.get("sender", [])[:1])
    if senders:
        result.from_name, result.from_addr = senders[0]
    else:
        result.problems.append("message has no sender")
    result.reply_to = [a for _n, a in _addresses(headers.get("reply-to", []))]
    result.to = [a for _n, a in _addresses(headers.get("to", []))]
    result.cc = [a for _n, a in _addresses(headers.get("cc", []))]

    date_value = _unfold(_fix_8bit(_first(headers, "date"))).strip()
    if date_value:
        try:
            parsed = parsedate_to_datetime(date_value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            result.date = parsed
        except (TypeError, ValueError, IndexError, OverflowError):
            result.problems.append("unparseable Date")
    else:
        result.problems.append("missing Date")
    result.loop_markers = [
        " ".join(_fix_8bit(v).split()) for v in headers.get("x-kapula-loop", [])
    ]
    return headers


def _parse_into(raw: bytes, limits: Limits, result: ParsedEmail) -> None:
    if len(raw) > limits.max_message_bytes:
        msg = _headers_only(raw)
        view = _HeaderView(_fill_headers(msg, result))
        result.problems.append(f"message too large: {len(raw)} bytes")
        kind, reason = automatic_kind(view, result.from_addr, result.subject)
        result.auto_kind, result.auto_reply = kind, reason
        return
    if not raw.strip():
        result.problems.append("empty message")
        result.problems.append("missing Message-ID")
        result.problems.append("message has no sender")
        return

    body_start = _HEADER_END_RE.search(raw)
    scan_from = body_start.end() if body_start else 0
    cap = limits.max_depth * 5
    for count, match in enumerate(_MULTIPART_DECL_RE.finditer(raw, scan_from), start=1):
        if count > cap:
            raw = raw[: match.start()]
            result.problems.append(
                f"malformed MIME: more than {cap} multipart containers; the rest ignored"
            )
            break

    try:
        msg = BytesParser(policy=compat32).parsebytes(raw)
    except RecursionError:
        msg = _headers_only(raw)
        result.problems.append("malformed MIME: nesting too deep to parse")
    view = _HeaderView(_fill_headers(msg, result))

    state = _State(limits)
    bounce = parse_bounce(msg)
    if bounce is not None:
        result.bounce = bounce
        state.in_bounce = True
    unit = _Unit()
    if msg.is_multipart() or msg.get_payload():
        _walk(msg, 0, state, unit)
    else:
        _note_defects(msg, state, 1)

    text = unit.text()
    html = unit.html_text()
    forwarded = state.forwarded
    if not forwarded and find_forward_line(text) >= 0:
        forwarded = True
    if not forwarded and is_forward_subject(result.subject):
        forwarded = bool(re.search(r"(?im)^\s*\*?(from|lähettäjä|från)\*?\s*:", text))
    result.forwarded = forwarded and bounce is None

    truncated = False
    if len(text) > limits.max_body_chars:
        text = text[: limits.max_body_chars]
        truncated = True
    if len(html) > limits.max_body_chars:
        html = html[: limits.max_body_chars]
        truncated = True
    if truncated:
        state.note("body truncated")
    result.text = text
    result.html = html
    result.visible_text = strip_quotes(text, result.subject) if text else ""
    if len(result.visible_text) > limits.max_body_chars:
        result.visible_text = result.visible_text[: limits.max_body_chars]
    result.visible_html = strip_quotes_html(html, result.subject) if html else ""

    if html and state.attachments:
        referenced = {unquote(c).strip("<>").lower() for c in _CID_RE.findall(html)}
        for att in state.attachments:
            if att.content_id and att.content_id.lower() in referenced:
                att.inline = True
    result.attachments = state.attachments
    result.withheld = state.withheld
    result.problems.extend(p for p in state.problems if p not in result.problems)

    if bounce is not None:
        result.auto_kind = "auto_generated"
        result.auto_reply = "delivery status notification"
    else:
        kind, reason = automatic_kind(view, result.from_addr, result.subject)
        result.auto_kind, result.auto_reply = kind, reason
