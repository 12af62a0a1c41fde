"""parse_email against the hand-written corpus in samples/ and generated hostile input."""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from kapula.intake.mail.parse import Limits, ParsedEmail, decode_bytes, html_to_text, parse_email

SAMPLES = Path(__file__).parent / "samples"


def load(name: str) -> ParsedEmail:
    return parse_email((SAMPLES / f"{name}.eml").read_bytes())


def test_corpus_is_large_enough() -> None:
    assert len(list(SAMPLES.glob("*.eml"))) >= 40


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.eml")), ids=lambda p: p.stem)
def test_every_sample_parses(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_email(raw)
    assert isinstance(parsed, ParsedEmail)
    assert parsed.size == len(raw)
    if parsed.text.strip():
        assert parsed.visible_text.strip()
    assert all(a.filename and "/" not in a.filename and "\\" not in a.filename
               for a in parsed.attachments)


# --- plain messages and charsets -------------------------------------------------------


def test_plain_finnish() -> None:
    p = load("plain_fi_utf8")
    assert p.subject == "Tulostin ei toimi kolmannessa kerroksessa"
    assert p.from_name == "Matti Virtanen"
    assert p.from_addr == "matti.virtanen@example.fi"
    assert p.to == ["tuki@tre.example.fi"]
    assert p.cc == ["esimies@example.fi"]
    assert p.message_id == "<CAF3x9kQ1@mail.example.fi>"
    assert p.date == datetime(2026, 3, 3, 9, 14, 20, tzinfo=timezone(timedelta(hours=2)))
    assert "näyttää virheilmoitusta" in p.text
    assert p.visible_text == p.text
    assert p.html == "" and p.visible_html == ""
    assert p.problems == []
    assert p.auto_kind == "" and p.bounce is None and not p.forwarded


def test_plain_swedish_quoted_printable_and_raw_utf8_in_encoded_word() -> None:
    p = load("plain_sv_utf8")
    assert p.subject == "Fråga om lösenordsbyte"
    assert p.from_name == "Åsa Lindström"
    assert "glömt mitt lösenord till personalportalen och får inte\nnågot" in p.text
    assert p.text.rstrip().endswith("Åsa")


def test_plain_english_with_euro() -> None:
    p = load("plain_en_utf8")
    assert p.from_name == "John Smith"
    assert "50 € per month" in p.visible_text
    assert p.date is not None and p.date.utcoffset() == timedelta(0)


def test_latin1() -> None:
    p = load("latin1_fi")
    assert p.subject == "Sähkökatko työpisteellä"
    assert p.from_name == "Päivi Järvinen"
    assert "Työpisteen numero on A-214." in p.text
    assert p.problems == []


def test_iso_8859_15_euro() -> None:
    assert "120 €, ei 210 €. Päättäjä" in load("iso885915_euro").text


def test_windows_1252() -> None:
    p = load("cp1252_euro")
    expected = "Matkakulut yhteensä 45 € – kuitti liitteenä “myöhemmin”.\nÅsa ja Örjan."
    assert p.text.strip() == expected


def test_declared_utf8_but_latin1() -> None:
    p = load("lying_utf8_latin1")
    assert "työhuoneessa. Ystävällisesti" in p.text
    assert any("utf-8" in problem for problem in p.problems)


def test_unknown_charset() -> None:
    p = load("unknown_charset")
    assert p.text.strip() == "Näppäimistö puuttuu."
    assert any("unknown charset x-unknown" in problem for problem in p.problems)


def test_rfc2047_subject_and_sender() -> None:
    p = load("rfc2047_subjects")
    assert p.subject == "Re: Sähkökatko työpisteellä ja åtgärd € ok"
    assert p.from_name == "Järvinen, Päivi (Tilapalvelut)"
    assert p.from_addr == "paivi.jarvinen@example.fi"
    assert p.to == ["tuki@tre.example.fi"]


def test_raw_8bit_headers() -> None:
    p = load("raw8bit_subject")
    assert p.subject == "Häiriö sähköpostissa"
    assert p.from_name == "Päivi Järvinen"
    assert p.text.strip() == "Sähköposti ei kulje."


def test_decode_bytes_fallbacks() -> None:
    assert decode_bytes("ä".encode(), "utf8") == ("ä", "")
    assert decode_bytes(b"\xe4", "latin1") == ("ä", "")
    assert decode_bytes(b"\x80", "iso-8859-1") == ("€", "")
    assert decode_bytes("가".encode("cp949"), "ks_c_5601-1987") == ("가", "")
    assert decode_bytes("ä".encode(), "unicode-1-1-utf-8")[0] == "ä"
    text, problem = decode_bytes(b"\xe4", "us-ascii")
    assert text == "ä" and problem
    text, problem = decode_bytes(b"\xff\xfe", "rot13")
    assert problem and isinstance(text, str)


# --- structure ---------------------------------------------------------------------------


def test_rfc2231_and_rfc2047_filenames() -> None:
    p = load("rfc2231_filename")
    names = [a.filename for a in p.attachments]
    assert names == ["Hakemus päätöksestä – Åland.pdf", "Lausunto Åland 2026.docx"]
    assert p.attachments[0].content_type == "application/pdf"
    assert p.attachments[0].content.startswith(b"%PDF-1.4")
    assert p.withheld == []


def test_attachments_mixed() -> None:
    p = load("attachments_mixed")
    got = [(a.filename, a.content_type, len(a.content), a.inline) for a in p.attachments]
    assert got == [
        ("tarjous.pdf", "application/pdf", 78, False),
        ("kuva.png", "image/png", 70, False),
        (
            "muistio.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            22,
            False,
        ),
        ("luettelo.csv", "text/csv", 19, False),
        ("attachment-1.bin", "application/octet-stream", 10, False),
    ]
    assert p.visible_text == "Liitteena tarjous, kuva ja muistio."


def test_too_many_attachments() -> None:
    p = parse_email((SAMPLES / "attachments_mixed.eml").read_bytes(), Limits(max_attachments=2))
    assert [a.filename for a in p.attachments] == ["tarjous.pdf", "kuva.png"]
    assert [name for name, _ in p.withheld] == ["muistio.docx", "luettelo.csv", "attachment-1.bin"]
    assert all("too many attachments" in reason for _, reason in p.withheld)


def test_attachment_too_large() -> None:
    raw = (SAMPLES / "attachments_mixed.eml").read_bytes()
    p = parse_email(raw, Limits(max_attachment_bytes=50))
    withheld = dict(p.withheld)
    assert withheld["tarjous.pdf"].startswith("too large")
    assert withheld["kuva.png"].startswith("too large")
    assert "luettelo.csv" in [a.filename for a in p.attachments]


def test_inline_cid_image() -> None:
    p = load("inline_cid_image")
    assert p.visible_text == "Näyttö vilkkuu näin:\n\nTiina"
    assert "cid:shot1@example.fi" in p.html
    [image] = p.attachments
    assert (image.filename, image.content_type, image.inline, image.content_id) == (
        "image-1.png",
        "image/png",
        True,
        "shot1@example.fi",
    )
    assert image.content.startswith(b"\x89PNG")


def test_outlook_related_inline_image() -> None:
    p = load("outlook_related_inline")
    assert p.subject == "Virheilmoitus kuvakaappauksena"
    assert "ohjelma näyttää oheisen virheen." in p.text
    [image] = p.attachments
    assert image.filename == "image001.png"
    assert image.inline and image.content_id == "image001.png@01DA71AB.12345670"


def test_forward_as_attached_message() -> None:
    p = load("forward_rfc822_pdf")
    assert p.forwarded
    assert p.text.startswith("Välitän tämän teille käsiteltäväksi.")
    assert "---------- Forwarded message ----------" in p.text
    assert "From: Toimittaja Oy <myynti@vendor.example.com>" in p.text
    assert "Subject: Sopimusluonnos" in p.text
    assert "liitteenä sopimusluonnos kommentoitavaksi" in p.visible_text
    assert [(a.filename, a.content_type) for a in p.attachments] == [
        ("sopimus.pdf", "application/pdf")
    ]


def test_html_only_newsletter_text() -> None:
    p = load("newsletter_list")
    assert p.text == (
        "Uutiskirje\n\nTässä numerossa: digitalisaatio & tietoturva.\n\n"
        "Ensimmäinen aihe\n\nToinen aihe\n\nLopuksi\nterveisin toimitus"
    )
    assert "var x" not in p.text and "color" not in p.text
    assert p.html.startswith("<html>")


def test_html_to_text() -> None:
    assert html_to_text("<p>A&amp;B</p><div>c<br>d</div><ul><li>e</li></ul>") == "A&B\n\nc\nd\n\ne"


# --- defects ---------------------------------------------------------------------------------


def test_missing_message_id() -> None:
    p = load("missing_message_id")
    assert p.message_id == ""
    assert "missing Message-ID" in p.problems
    assert p.from_addr == "skanneri@kunta.example.fi" and p.from_name == ""


def test_missing_from() -> None:
    p = load("missing_from")
    assert p.from_addr == "" and "message has no sender" in p.problems
    assert p.text.strip() == "Raportti ajettu."


def test_missing_date() -> None:
    p = load("missing_date")
    assert p.date is None
    assert p.visible_text == "Uusi palaute lomakkeelta."


def test_no_body() -> None:
    p = load("no_body")
    assert p.subject == "Soittakaa minulle"
    assert p.text == "" and p.visible_text == "" and p.attachments == []


def test_truncated_multipart() -> None:
    p = load("truncated_multipart")
    assert p.visible_text == "Tämä viesti katkeaa kesken."
    assert [a.filename for a in p.attachments] == ["puolikas.pdf"]
    assert any("malformed MIME" in problem for problem in p.problems)


def test_missing_boundary_is_recovered() -> None:
    p = load("missing_boundary")
    assert p.visible_text == "Rajaparametri puuttuu mutta teksti on tässä."
    assert any("boundary" in problem.lower() for problem in p.problems)


def test_garbage_base64() -> None:
    p = load("garbage_base64")
    assert p.problems
    assert isinstance(p.text, str)
    assert [a.filename for a in p.attachments] == ["rikki.pdf"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff" * 50,
        b"garbage without headers",
        b"Subject: x\n\n",
        b"Content-Type: multipart/mixed; boundary=\n\n--\n--",
        b"Content-Type: text/plain; charset=\"\x00\"\n\n\xe4",
        b"Content-Transfer-Encoding: base64\n\n====",
        b"Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\nM\nend\n",
        b"Message-ID: no brackets@host\nReferences: <a@b>,<c@d>\n <e\n @f>\n\nx",
    ],
)
def test_hostile_small_inputs(raw: bytes) -> None:
    assert isinstance(parse_email(raw), ParsedEmail)


def test_message_ids_tolerant() -> None:
    p = parse_email(b"Message-ID: no brackets@host\nReferences: <a@b>,<c@d>\n <e\n @f>\n"
                    b"In-Reply-To: <c@d> (comment)\n\nx")
    assert p.message_id == "<nobrackets@host>"
    assert p.references == ["<a@b>", "<c@d>", "<e@f>"]
    assert p.in_reply_to == ["<c@d>"]


def test_loop_markers() -> None:
    p = load("kapula_loop")
    assert p.loop_markers == ["tre.example.fi 1", "tre.example.fi 2"]
    assert load("plain_fi_utf8").loop_markers == []


# --- generated hostile messages ---------------------------------------------------------


def _with_attachment(name: str, content: bytes, ctype: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "a@example.fi"
    msg["To"] = "tuki@tre.example.fi"
    msg["Subject"] = "archive"
    msg["Message-ID"] = "<archive@example.fi>"
    msg.set_content("see attachment")
    maintype, subtype = ctype.split("/")
    msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def test_zip_bomb_is_withheld(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.bin", "w") as member,
    ):
        block = bytes(1024 * 1024)
        for _ in range(100):
            member.write(block)
    sample = tmp_path / "zip_bomb.eml"
    sample.write_bytes(_with_attachment("data.zip", buffer.getvalue(), "application/zip"))
    p = parse_email(sample.read_bytes())
    assert p.attachments == []
    [(name, reason)] = p.withheld
    assert name == "data.zip" and "archive" in reason


def test_gzip_bomb_is_withheld(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9) as gz:
        block = bytes(1024 * 1024)
        for _ in range(100):
            gz.write(block)
    sample = tmp_path / "gz_bomb.eml"
    sample.write_bytes(_with_attachment("logs.gz", buffer.getvalue(), "application/gzip"))
    p = parse_email(sample.read_bytes())
    assert p.attachments == []
    assert p.withheld and p.withheld[0][0] == "logs.gz" and "archive" in p.withheld[0][1]


def test_normal_zip_is_kept() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", "hello world " * 20)
        zf.writestr("b.txt", random.Random(1).randbytes(2000))
    p = parse_email(_with_attachment("ok.zip", buffer.getvalue(), "application/zip"))
    assert [a.filename for a in p.attachments] == ["ok.zip"] and p.withheld == []


def _nested(depth: int) -> bytes:
    lines = [b"From: a@example.fi", b"Subject: deep", b"Message-ID: <deep@x>",
             b"Content-Type: multipart/mixed; boundary=b0", b""]
    for i in range(1, depth):
        lines += [b"--b%d" % (i - 1), b"Content-Type: multipart/mixed; boundary=b%d" % i, b""]
    lines += [b"--b%d" % (depth - 1), b"Content-Type: text/plain", b"", b"deep text", b""]
    for i in range(depth - 1, -1, -1):
        lines.append(b"--b%d--" % i)
    return b"\n".join(lines)


@pytest.mark.parametrize("depth", [200, 10_000])
def test_deep_nesting(depth: int) -> None:
    p = parse_email(_nested(depth))
    assert p.subject == "deep"
    assert any("nest" in problem or "multipart" in problem for problem in p.problems)


def test_ten_thousand_parts() -> None:
    parts = [b"From: a@example.fi\nSubject: many\nContent-Type: multipart/mixed; boundary=z\n"]
    for i in range(10_000):
        parts.append(b"--z\nContent-Type: application/octet-stream\n\n%d\n" % i)
    parts.append(b"--z--\n")
    p = parse_email(b"\n".join(parts))
    assert p.subject == "many"
    assert len(p.attachments) == 20
    assert any("MIME parts" in problem for problem in p.problems)


def test_oversized_message_headers_only() -> None:
    head = (SAMPLES / "plain_fi_utf8.eml").read_bytes().split(b"\n\n", 1)[0]
    raw = head + b"\n\n" + b"x" * (30 * 1024 * 1024)
    p = parse_email(raw, Limits(max_message_bytes=1024 * 1024))
    assert p.subject == "Tulostin ei toimi kolmannessa kerroksessa"
    assert p.from_addr == "matti.virtanen@example.fi"
    assert p.text == "" and p.attachments == []
    assert f"message too large: {len(raw)} bytes" in p.problems


def test_body_truncated() -> None:
    raw = b"From: a@example.fi\nSubject: long\n\n" + b"word " * 50_000
    p = parse_email(raw, Limits(max_body_chars=1000))
    assert len(p.text) == 1000
    assert "body truncated" in p.problems


def test_date_without_zone_is_aware() -> None:
    p = parse_email(b"From: a@example.fi\nDate: Mon, 2 Mar 2026 10:00:00 -0000\n\nx")
    assert p.date == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert parse_email(b"Date: yesterday\n\nx").date is None


def _mutate(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    choice = rng.randrange(5)
    if choice == 0 and data:
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 1:
        del data[rng.randrange(len(data) + 1) :]
    elif choice == 2:
        lines = bytes(data).split(b"\n")
        idx = rng.randrange(len(lines))
        for _ in range(rng.randint(1, 5)):
            lines.insert(idx, lines[rng.randrange(len(lines))])
        data = bytearray(b"\n".join(lines))
    elif choice == 3 and data:
        start = rng.randrange(len(data))
        del data[start : start + rng.randint(1, 200)]
    else:
        pos = rng.randrange(len(data) + 1)
        data[pos:pos] = rng.choice([b"--", b"\n\n", b"=?utf-8?b?", b"boundary=", b"\x00", b"=\n"])
    return bytes(data)


def test_fuzz_mutations_never_raise() -> None:
    rng = random.Random(20260323)
    names = ["outlook_fi_html_reply", "forward_rfc822_pdf", "bounce_postfix", "rfc2231_filename",
             "gmail_reply_fi", "bounce_exim"]
    seeds = [(SAMPLES / f"{n}.eml").read_bytes() for n in names]
    for i in range(2000):
        raw = _mutate(rng, seeds[i % len(seeds)])
        parsed = parse_email(raw)
        assert isinstance(parsed, ParsedEmail)
