"""Separate what the sender newly wrote from quoted history and signatures.

Plain text and HTML are handled separately.  Forwarded mail is never cut: when
someone forwards a message to the service desk, the forwarded content is the
case itself.  Everything here is pure standard library and never raises on odd
input; at worst the input comes back unchanged.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = [
    "find_forward_line",
    "is_forward_marker", "is_forward_subject", "strip_quotes", "strip_quotes_html"]

# ---------------------------------------------------------------------------
# Recognisers for single lines

_FORWARD_RE = re.compile(
    r"^[\s>]*[-=_*\s]*(?:"
    r"forwarded message|forwarded e-?mail|begin forwarded message|start of forwarded message"
    r"|välitetty viesti|edelleenlähetetty viesti|alkuperäinen viesti alkaa"
    r"|vidarebefordrat meddelande|vidarebefordrat e-?postmeddelande|början på vidarebefordrat"
    r"|weitergeleitete nachricht|videresendt melding|message transféré"
    r")\s*:?\s*[-=_*\s]*$",
    re.IGNORECASE,
)

_FORWARD_SUBJECT_RE = re.compile(r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:fwd?|vl|vb|wg|tr|enc)\s*:", re.I)

_ORIGINAL_SEPARATOR_RE = re.compile(
    r"^\s*-{2,}\s*(?:original message|alkuperäinen viesti|ursprungligt meddelande"
    r"|opprinnelig melding|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)

_HEADER_KEYS_FROM = r"from|lähettäjä|från|von|de|fra"
_HEADER_KEYS_OTHER = (
    r"sent|date|to|cc|subject|lähetetty|päivämäärä|vastaanottaja|kopio|aihe"
    r"|skickat|datum|till|kopia|ämne|gesendet|an|betreff|envoyé|à|objet|sendt|emne"
)
_HEADER_FROM_RE = re.compile(rf"^\s*\*?(?:{_HEADER_KEYS_FROM})\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_ANY_RE = re.compile(
    rf"^\s*\*?(?:{_HEADER_KEYS_FROM}|{_HEADER_KEYS_OTHER})\s*:\*?(?:\s|$)", re.IGNORECASE
)

_SIGNATURE_RE = re.compile(
    r"^\s*(?:sent from my |sent from outlook|sent from mail for windows|sent from yahoo mail"
    r"|lähetetty (?:iphonesta|ipadista|android-laitteesta|samsung|outlook|mobiili|puhelimesta)"
    r"|skickat från min |skickat från outlook|get outlook for (?:ios|android)"
    r"|hanki outlook for (?:ios|android)|skaffa outlook för (?:ios|android)"
    r"|von meinem iphone gesendet)",
    re.IGNORECASE,
)

_ATTRIBUTION_END_RE = re.compile(
    r"(?:\bwrote|\bkirjoitti|\bskrev|\bschrieb|\ba écrit|\bskreiv)\b[^:]{0,80}:\s*$", re.IGNORECASE
)
_ATTRIBUTION_START_RE = re.compile(
    r"^\s*(?:on\s|den\s|am\s|le\s|\S.{0,200}\b(?:kirjoitti|skrev)\b)", re.IGNORECASE
)


_FORWARD_LINE_RE = re.compile(
    _FORWARD_RE.pattern.replace(r"^[\s>]*[-=_*\s]*", r"^[ \t>]*[-=_* \t]*")
    .replace(r")\s*:?\s*[-=_*\s]*$", r")[ \t]*:?[ \t]*[-=_* \t]*$"),
    re.IGNORECASE | re.MULTILINE,
)

_CANDIDATE_STARTS = (
    "on ", "den ", "am ", "le ", "sent from", "lähetetty", "skickat", "get outlook",
    "hanki outlook", "skaffa outlook", "von meinem",
)


def _candidate(line: str) -> bool:
    """Cheap pre-filter: can this line start a cut?  The precise checks follow."""
    if ":" in line:
        return True
    head = line.lstrip()
    if not head:
        return False
    if head[0] in "-_*>":
        return True
    return head[:16].lower().startswith(_CANDIDATE_STARTS)


def find_forward_line(text: str) -> int:
    """Index (in ``text.split("\\n")``) of the first forward marker line, -1 if none."""
    match = _FORWARD_LINE_RE.search(text)
    if match is None:
        return -1
    return text.count("\n", 0, match.start())


def is_forward_marker(line: str) -> bool:
    """True when ``line`` introduces an inline forwarded message."""
    if len(line) > 200:
        return False
    return bool(_FORWARD_RE.match(line))


def is_forward_subject(subject: str) -> bool:
    """True when the subject starts with a forward prefix (Fwd:, FW:, VL:, VB: ...)."""
    return bool(_FORWARD_SUBJECT_RE.match(subject or ""))


def _is_attribution(lines: list[str], i: int) -> int:
    """Length (1 or 2) of a reply attribution starting at line ``i``, 0 if none."""
    line = lines[i].strip()
    if not line or line.startswith(">") or len(line) > 300:
        return 0
    if _ATTRIBUTION_END_RE.search(line) and re.search(r"\d|@", line):
        if _ATTRIBUTION_START_RE.match(line) or ":" not in line[:-1] or "<" in line:
            return 1
        # "Matti Meikäläinen kirjoitti 3.3.2026 kello 10.12:" style
        return 1
    if i + 1 < len(lines) and re.match(r"^\s*on\s", line, re.IGNORECASE):
        joined = line + " " + lines[i + 1].strip()
        if len(joined) < 400 and _ATTRIBUTION_END_RE.search(joined) and re.search(r"\d", joined):
            return 2
    return 0


def _is_header_block(lines: list[str], i: int) -> bool:
    """An Outlook style header block: a From-like line plus another header line after it."""
    if not _HEADER_FROM_RE.match(lines[i]):
        return False
    seen = 0
    for nxt in lines[i + 1 : i + 4]:
        if not nxt.strip():
            continue
        if _HEADER_ANY_RE.match(nxt):
            seen += 1
            if seen >= 1:
                return True
        else:
            return False
    return False


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _trim_tail(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or re.fullmatch(r"\s*[-_=*]{3,}\s*", lines[-1])):
        lines.pop()
    return lines


def _strip_head(lines: list[str], forward_subject: bool) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not _candidate(line):
            out.append(line)
            i += 1
            continue
        stripped = line.rstrip("\r\n")
        if stripped in ("-- ", "--"):
            break
        if _SIGNATURE_RE.match(stripped):
            break
        if _ORIGINAL_SEPARATOR_RE.match(stripped):
            if forward_subject:
                out.extend(lines[i:])
                break
            break
        if _is_header_block(lines, i):
            if forward_subject:
                out.extend(lines[i:])
                break
            break
        span = _is_attribution(lines, i)
        if span:
            rest = lines[i + span :]
            first = next((r for r in rest if r.strip()), "")
            if not _is_quoted(first):
                break
            if all(not r.strip() or _is_quoted(r) for r in rest):
                break
            # Interleaved answer: drop the attribution, keep going without the quotes.
            i += span
            continue
        if _is_quoted(stripped):
            i += 1
            continue
        out.append(line)
        i += 1
    return out


def strip_quotes(text: str, subject: str = "") -> str:
    """Return the part of a plain-text body the sender newly wrote.

    ``subject`` is optional; with a forward prefix (Fwd:, FW:, VL:, VB:) an Outlook
    header block is treated as the start of the forwarded message and kept.
    """
    try:
        return _strip_quotes(text, subject)
    except Exception:  # pragma: no cover - defensive: never fail the caller
        return text.strip()


def _strip_quotes(text: str, subject: str) -> str:
    if not text or not text.strip():
        return text.strip() if text else ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    forward_at = find_forward_line(text)
    forward_subject = is_forward_subject(subject)
    if forward_at >= 0:
        head = _strip_head(lines[:forward_at], forward_subject)
        kept = _trim_tail(head) + ([""] if head else []) + lines[forward_at:]
    else:
        kept = _strip_head(lines, forward_subject)
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(_trim_tail(kept)).strip())
    if not result:
        return text.strip()
    return result


# ---------------------------------------------------------------------------
# HTML

_VOID = frozenset(
    (
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr",
    )
)

_HTML_HINTS = (
    "gmail_quote",
    "cite",
    "divrplyfwdmsg",
    "appendonsend",
    "moz-cite-prefix",
    "yahoo_quoted",
    "e1e1e1",
    "b5c4df",
)


class _Node:
    __slots__ = ("attrs", "children", "close_end", "close_start", "open_end", "parent", "start",
                 "tag")

    def __init__(self, tag: str, attrs: dict[str, str], start: int, open_end: int,
                 parent: _Node | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.start = start
        self.open_end = open_end
        self.close_start = -1
        self.close_end = -1
        self.parent = parent
        self.children: list[_Node] = []


class _TreeBuilder(HTMLParser):
    """Records element spans (character offsets into the source)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.line_starts = [0]
        for m in re.finditer("\n", source):
            self.line_starts.append(m.end())
        self.root = _Node("#root", {}, 0, 0, None)
        self.stack: list[_Node] = [self.root]

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.stack[-1]
        node = _Node(tag, {k: (v or "") for k, v in attrs}, start, start + len(raw), parent)
        parent.children.append(node)
        if tag in _VOID:
            node.close_start = node.close_end = node.open_end
        else:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        parent = self.stack[-1]
        node = _Node(tag, {k: (v or "") for k, v in attrs}, start, start + len(raw), parent)
        node.close_start = node.close_end = node.open_end
        parent.children.append(node)

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        gt = self.source.find(">", start)
        end = len(self.source) if gt < 0 else gt + 1
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                while len(self.stack) > depth:
                    node = self.stack.pop()
                    node.close_start = start
                    node.close_end = end if node.tag == tag else start
                return

    def finish(self) -> _Node:
        self.close()
        end = len(self.source)
        while len(self.stack) > 1:
            node = self.stack.pop()
            node.close_start = node.close_end = end
        self.root.close_start = self.root.close_end = end
        return self.root


_TAG_RE = re.compile(r"<[^>]*>")


def _plain(fragment: str) -> str:
    import html as _html

    return _html.unescape(_TAG_RE.sub("\n", fragment))


def _classes(node: _Node) -> set[str]:
    return set(node.attrs.get("class", "").lower().split())


def _looks_forwarded(source: str, node: _Node) -> bool:
    """A forward marker inside the first part of ``node`` or just before it."""
    inside = _plain(source[node.start : min(node.close_end, node.start + 1500)])
    before = _plain(source[max(0, node.start - 600) : node.start])
    for chunk in (inside[:400], before[-300:]):
        for line in re.split(r"[\r\n]+|\s{2,}", chunk):
            if is_forward_marker(line.strip()):
                return True
    return False


def _climb(source: str, node: _Node) -> _Node:
    """Go up through wrappers that hold nothing before ``node``."""
    while node.parent is not None and node.parent.parent is not None:
        parent = node.parent
        if parent.tag in ("body", "html"):
            break
        if _plain(source[parent.open_end : node.start]).strip():
            break
        node = parent
    return node


def strip_quotes_html(html: str, subject: str = "") -> str:
    """Remove quoted earlier messages from an HTML body; the result is still HTML."""
    try:
        return _strip_quotes_html(html, subject)
    except Exception:  # pragma: no cover - defensive
        return html


def _strip_quotes_html(html: str, subject: str) -> str:
    if not html:
        return html
    lowered = html.lower()
    if not any(h in lowered for h in _HTML_HINTS):
        return html
    builder = _TreeBuilder(html)
    builder.feed(html)
    root = builder.finish()
    forward_subject = is_forward_subject(subject)
    cuts: list[tuple[int, int]] = []

    def cut_node(node: _Node) -> None:
        cuts.append((node.start, node.close_end))

    def cut_rest(node: _Node) -> None:
        top = _climb(html, node)
        parent = top.parent
        end = parent.close_start if parent is not None else len(html)
        if end < top.start:
            end = len(html)
        cuts.append((top.start, end))

    stack = [root]
    done = False
    while stack and not done:
        node = stack.pop()
        if node is not root:
            cls = _classes(node)
            ident = node.attrs.get("id", "").lower()
            style = re.sub(r"\s+", "", node.attrs.get("style", "").lower())
            handled = True
            is_gmail = node.tag == "div" and bool({"gmail_quote", "gmail_quote_container"} & cls)
            is_cite = node.tag == "blockquote" and node.attrs.get("type", "").lower() == "cite"
            if is_gmail or is_cite:
                if not _looks_forwarded(html, node):
                    cut_node(node)
            elif node.tag == "div" and "yahoo_quoted" in cls:
                cut_node(node)
            elif node.tag == "div" and "moz-cite-prefix" in cls:
                cut_node(node)
                parent = node.parent
                if parent is not None:
                    siblings = parent.children
                    idx = siblings.index(node)
                    for sib in siblings[idx + 1 :]:
                        if sib.tag == "blockquote":
                            cuts.append((sib.start, sib.close_end))
                            break
            elif ident in ("divrplyfwdmsg", "appendonsend"):
                if not forward_subject and not _looks_forwarded(html, node):
                    cut_rest(node)
                    done = True
            elif node.tag == "div" and (
                "border-top:solid#e1e1e1" in style or "border-top:solid#b5c4df" in style
            ):
                text = _plain(html[node.start : node.close_end])
                if re.search(r"(?:From|Lähettäjä|Från|Von)\s*:", text) and not forward_subject:
                    if not _looks_forwarded(html, node):
                        cut_rest(node)
                        done = True
                else:
                    handled = False
            else:
                handled = False
            if handled:
                continue
        stack.extend(reversed(node.children))

    if not cuts:
        return html
    cuts.sort()
    merged: list[tuple[int, int]] = []
    for start, end in cuts:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    pieces: list[str] = []
    pos = 0
    for start, end in merged:
        pieces.append(html[pos:start])
        pos = max(pos, end)
    pieces.append(html[pos:])
    result = "".join(pieces)
    body_text = _plain(re.sub(r"(?is)<(script|style|head)\b.*?</\1\s*>", " ", result))
    if not body_text.strip():
        return html
    return result
