"""The fi, sv and en catalogues are complete and up to date with the code."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kapula"
LANGUAGES = ("fi", "sv", "en")


def parse_po(path: Path) -> list[dict[str, object]]:
    """Entries of a .po file: msgid, msgid_plural, msgstr list, flags (enough for checks)."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    key = None

    def finish() -> None:
        if "msgid" in current:
            entries.append(dict(current))
        current.clear()

    def unquote(text: str) -> str:
        return text.strip()[1:-1].encode("utf-8").decode("unicode_escape").encode(
            "latin-1").decode("utf-8")

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#,"):
            if "msgid" in current and key and key.startswith("msgstr"):
                finish()
            current.setdefault("flags", line[2:].strip())
        elif line.startswith("msgid_plural "):
            key = "msgid_plural"
            current[key] = unquote(line[len("msgid_plural "):])
        elif line.startswith("msgid "):
            if "msgid" in current:
                finish()
            key = "msgid"
            current[key] = unquote(line[len("msgid "):])
        elif line.startswith("msgstr"):
            name, _, value = line.partition(" ")
            key = name
            current.setdefault("msgstr", {})[name] = unquote(value)  # type: ignore[index]
        elif line.startswith('"') and key:
            if key.startswith("msgstr"):
                current["msgstr"][key] += unquote(line)  # type: ignore[index]
            else:
                current[key] = str(current[key]) + unquote(line)
        elif not line:
            finish()
            key = None
    finish()
    return [e for e in entries if e.get("msgid")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_complete(language: str) -> None:
    po = PACKAGE / "locale" / language / "LC_MESSAGES" / "django.po"
    assert po.exists(), f"missing catalogue {po}"
    entries = parse_po(po)
    assert len(entries) > 50
    missing = [e["msgid"] for e in entries
               if not all(v for v in e["msgstr"].values())]  # type: ignore[union-attr]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in str(e.get("flags", ""))]
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


def test_catalogues_up_to_date_with_code(tmp_path: Path) -> None:
    """Every translatable string in the code is in the catalogues (makemessages adds none)."""
    if shutil.which("xgettext") is None:
        pytest.fail("xgettext (GNU gettext) is needed to check the catalogues")
    copy = tmp_path / "kapula"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo",
                                                                 "static", "migrations"))
    subprocess.run(
        [sys.executable, "-m", "kapula", "makemessages", "-l", "fi", "--no-obsolete",
         "--verbosity", "0"],
        cwd=copy, check=True, capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "kapula.settings", "PATH": "/usr/bin:/bin",
             "PYTHONPATH": str(ROOT), "KAPULA_LOCALE_DIR": str(copy / "locale")},
    )
    fresh = {e["msgid"] for e in parse_po(copy / "locale" / "fi" / "LC_MESSAGES" / "django.po")}
    committed = {e["msgid"] for e in parse_po(PACKAGE / "locale" / "fi" / "LC_MESSAGES"
                                              / "django.po")}
    new = sorted(str(m) for m in fresh - committed)
    assert not new, f"run `make translations`: {len(new)} new strings, e.g. {new[:5]}"
