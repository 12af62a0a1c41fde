"""strip_quotes / strip_quotes_html on the reply styles real clients produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapula.intake.mail.parse import parse_email
from kapula.intake.mail.quotes import is_forward_marker, strip_quotes, strip_quotes_html

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str):  # type: ignore[no-untyped-def]
    return parse_email((SAMPLES / f"{name}.eml").read_bytes())


@pytest.mark.parametrize(
    ("name", "visible", "absent"),
    [
        ("gmail_reply_fi", "Kortti löytyi, kiitos avusta!", "kulkukortti on noudettavissa"),
        ("apple_reply_en", "Thanks, the permit number is P-7781.\n\nEmma", "please send us"),
        ("thunderbird_reply_sv", "Tack, nu fungerar det igen.\n\n/Erik", "starta om"),
        ("iphone_fi", "Sopii, tulen huomenna klo 9.", "Lähetetty iPhonesta"),
        (
            "outlook_sv_reply",
            "Hej,\n\njag behöver skrivrättighet, inte bara läsrättighet.\n\n"
            "Vänliga hälsningar\nKarin",
            "Från:",
        ),
        ("outlook_fi_html_reply", "Kiitos, tulostin toimii taas.\n\nSanna", "Lähettäjä"),
        ("original_message_sv", "Jag hämtar nycklarna i morgon.", "receptionen"),
        ("interleaved_reply", "Building C.\n\nThird floor.", "which floor"),
        ("owa_reply_en", "Please order the 14-inch model.", "Which model"),
    ],
)
def test_visible_text_of_replies(name: str, visible: str, absent: str) -> None:
    parsed = sample(name)
    assert parsed.visible_text == visible
    assert absent.lower() not in parsed.visible_text.lower()
    assert absent.lower() in (parsed.text + parsed.html).lower()


@pytest.mark.parametrize(
    ("name", "kept", "removed"),
    [
        ("gmail_reply_fi", "Kortti löytyi", "noudettavissa infosta"),
        ("thunderbird_reply_sv", "Tack, nu fungerar", "starta om skrivaren"),
        ("outlook_fi_html_reply", "Kiitos, tulostin toimii taas.", "huoltomies"),
        ("owa_reply_en", "Please order the 14-inch model.", "Which model"),
    ],
)
def test_visible_html_of_replies(name: str, kept: str, removed: str) -> None:
    parsed = sample(name)
    assert kept in parsed.visible_html
    assert removed not in parsed.visible_html
    assert removed in parsed.html


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("apple_forward", "Lasku 4411 on lähetetty kahteen kertaan."),
        ("gmail_forward", "Maksa lasku heti"),
        ("outlook_fw_fi", "Salasanasi vanhenee 3 päivän kuluttua."),
        ("forward_rfc822_pdf", "liitteenä sopimusluonnos kommentoitavaksi"),
    ],
)
def test_forwards_are_kept(name: str, kept: str) -> None:
    parsed = sample(name)
    assert parsed.forwarded
    assert kept in parsed.visible_text
    if parsed.html:
        assert kept.split()[0] in parsed.visible_html


def test_replies_are_not_forwards() -> None:
    for name in ("gmail_reply_fi", "outlook_fi_html_reply", "outlook_sv_reply", "iphone_fi"):
        assert not sample(name).forwarded, name


@pytest.mark.parametrize(
    "line",
    [
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "-------- Välitetty viesti --------",
        "---------- Vidarebefordrat meddelande ----------",
        "-------- Forwarded Message --------",
    ],
)
def test_forward_markers(line: str) -> None:
    assert is_forward_marker(line)


@pytest.mark.parametrize("line", ["I forwarded message to him", "-----Original Message-----", ""])
def test_not_forward_markers(line: str) -> None:
    assert not is_forward_marker(line)


def test_two_line_attribution() -> None:
    text = "Sure.\n\nOn Tue, 3 Mar 2026 at 10:12, Matti Virtanen <matti@example.fi>\nwrote:\n> old"
    assert strip_quotes(text) == "Sure."


def test_finnish_attribution_name_first() -> None:
    text = "Selvä.\n\nMatti Virtanen kirjoitti 3.3.2026 kello 10.12:\n> vanha"
    assert strip_quotes(text) == "Selvä."


def test_swedish_attribution() -> None:
    assert strip_quotes("Okej.\n\n3 mars 2026 skrev Erik Holm <e@x.se>:\n> gammalt") == "Okej."


def test_original_message_separators() -> None:
    for sep in ("-----Original Message-----", "-----Alkuperäinen viesti-----"):
        assert strip_quotes(f"Uusi.\n\n{sep}\nFrom: a\nSent: b\n\nvanha") == "Uusi."


def test_bold_header_block() -> None:
    text = "New text\n\n*From:* Helpdesk <h@x>\n*Sent:* Monday\n*To:* me\n*Subject:* x\n\nold"
    assert strip_quotes(text) == "New text"


def test_from_in_a_sentence_is_not_cut() -> None:
    text = "Please note:\nFrom: the third floor the printer is gone.\nThanks"
    assert strip_quotes(text) == text


def test_signature_separator() -> None:
    assert strip_quotes("Body text\n-- \nMatti\n040 123") == "Body text"


@pytest.mark.parametrize(
    "footer",
    ["Sent from my iPhone", "Lähetetty Android-laitteesta", "Skickat från min iPhone",
     "Get Outlook for Android", "Hanki Outlook for iOS"],
)
def test_mobile_footers(footer: str) -> None:
    assert strip_quotes(f"Kiitos!\n\n{footer}\n\n> old") == "Kiitos!"


def test_only_quote_returns_original() -> None:
    text = "> all quoted\n> nothing new"
    assert strip_quotes(text) == text


def test_forward_subject_keeps_outlook_block() -> None:
    text = "From: IT <it@x.fi>\nSent: Monday\nTo: me\nSubject: Password\n\nChange it."
    assert strip_quotes(text, subject="FW: Password") == text
    assert strip_quotes("See below\n\n" + text, subject="RE: Password") == "See below"


def test_html_without_quotes_is_unchanged() -> None:
    html = "<p>Hello <b>world</b></p>"
    assert strip_quotes_html(html) is html


def test_html_yahoo_and_blockquote() -> None:
    html = ('<div>New</div><div class="yahoo_quoted"><div>Old</div></div>'
            '<blockquote type="cite">older</blockquote>')
    assert strip_quotes_html(html) == "<div>New</div>"


def test_html_everything_quoted_returns_original() -> None:
    html = '<blockquote type="cite">only old</blockquote>'
    assert strip_quotes_html(html) == html


def test_html_apple_forward_kept() -> None:
    html = ('<div>FYI</div><div>Begin forwarded message:</div>'
            '<blockquote type="cite"><div>content</div></blockquote>')
    assert strip_quotes_html(html) == html


def test_html_broken_markup_never_raises() -> None:
    broken = ('<div class="gmail_quote"><p>unclosed', "<blockquote type=cite <<", "</div></div>")
    for html in broken:
        assert isinstance(strip_quotes_html(html), str)
