"""Text helpers: HTML sanitising, HTML to text, language detection."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan", "rowspan"},
                      "th": {"colspan", "rowspan", "scope"}}


def sanitise_html(raw: str) -> str:
    """Keep harmless formatting; drop scripts, styles, event handlers and unsafe URLs."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style", "template", "iframe", "object"},
    )


_BLOCK = re.compile(r"</?(p|div|br|li|tr|h[1-6]|blockquote|pre|hr|table)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")


def html_to_text(raw: str) -> str:
    cleaned = sanitise_html(raw)
    text = _BLOCK.sub("\n", cleaned)
    text = html.unescape(_TAG.sub("", text))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANKS.sub("\n\n", text).strip()


def text_to_html(text: str) -> str:
    """Plain text to safe HTML paragraphs (what the conversation view shows)."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.FINNISH, Language.SWEDISH, Language.ENGLISH
    ).build()


_CODES = {"FINNISH": "fi", "SWEDISH": "sv", "ENGLISH": "en"}


def detect_language(text: str, default: str = "fi") -> str:
    """The most likely of fi/sv/en for a text; ``default`` when it cannot tell."""
    sample = text.strip()[:2000]
    if len(sample) < 3:
        return default
    found = _detector().detect_language_of(sample)
    if found is None:
        return default
    return _CODES.get(found.name, default)


#: below this many letters a detection is never called confident
CONFIDENT_MIN_LETTERS = 30
CONFIDENT_MIN_SCORE = 0.75


def detect_language_confidence(text: str, default: str = "fi") -> tuple[str, bool]:
    """The most likely of fi/sv/en and whether the text says so clearly: long enough and
    the winner's relative confidence at least ``CONFIDENT_MIN_SCORE``."""
    sample = text.strip()[:2000]
    if sum(ch.isalpha() for ch in sample[:400]) < CONFIDENT_MIN_LETTERS:
        return detect_language(sample, default), False
    values = _detector().compute_language_confidence_values(sample)
    if not values:
        return default, False
    best = values[0]
    return _CODES.get(best.language.name, default), best.value >= CONFIDENT_MIN_SCORE


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    """Digits with a leading + in international form; Finnish 0-prefixed numbers to +358."""
    digits = re.sub(r"[^\d+]", "", value.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+358" + digits[1:]
    elif digits and not digits.startswith("+"):
        digits = "+" + digits
    return digits
