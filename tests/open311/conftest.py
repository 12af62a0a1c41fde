"""Fixtures for the Open311 tests: listed and unlisted services, client keys, and a plain
HTTP client that talks to the live server as a mobile app would (form-encoded bodies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
import pytest
from django.core.cache import cache

from kapula.catalogue.models import Service, ServiceField, Visibility
from kapula.intake.open311.actions import create_client
from kapula.intake.open311.models import Open311Client

SCHEMAS = Path(__file__).resolve().parents[2] / "kapula" / "intake" / "open311" / "schemas"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00"
       b"\x00\x00\x00IEND\xaeB`\x82")


def validate(name: str, data: Any) -> None:
    """Validate our JSON against the schema written from the spec (formats checked)."""
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(data)


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Http:
    """urllib against the live server: what a mobile app or a map service sends."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/") + "/open311/v2/"

    def send(self, method: str, path: str, data: dict[str, Any] | list[tuple[str, Any]] | None
             = None, files: dict[str, tuple[str, bytes, str]] | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        url = path if path.startswith("http") else self.base + path
        body = None
        hdrs = dict(headers or {})
        if files is not None:
            boundary = uuid.uuid4().hex
            parts = []
            items = data.items() if isinstance(data, dict) else (data or [])
            for key, value in items:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"'
                             f'\r\n\r\n{value}\r\n'.encode())
            for key, (filename, content, ctype) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
                             f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
                             + content + b"\r\n")
            parts.append(f"--{boundary}--\r\n".encode())
            body = b"".join(parts)
            hdrs["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=body, method=method,  # noqa: S310
                                         headers=hdrs)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, exc.headers, exc.read())

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.send("GET", path, **kwargs)

    def post(self, path: str, data: Any, **kwargs: Any) -> Answer:
        return self.send("POST", path, data, **kwargs)


@dataclass
class O311:
    world: Any
    fault: Service
    feedback: Service
    intranet: Service
    web_only: Service
    other: Service
    key: str
    other_key: str
    client: Open311Client


@pytest.fixture
def o311(world) -> O311:
    fault = Service.objects.create(
        organisation=world.org, unit=world.unit, code="katuvalo", name_fi="Katuvalovika",
        name_sv="Fel på gatubelysning", name_en="Street light fault", on_mobile=True,
        description_fi="Ilmoita viasta.", description_en="Report a fault.",
        team=world.service_point, category=world.category, ticket_type=world.incident,
        group="Kadut", keywords="valo,katu")
    specs = [
        ("vika", "choice", True, "Vian laatu", "Typ av fel", "Kind of fault",
         [{"key": "pimea", "fi": "Valo ei pala", "sv": "Lampan lyser inte",
           "en": "Light is out"},
          {"key": "vaarallinen", "fi": "Pylväs kaatumassa", "sv": "Stolpen faller",
           "en": "Pole falling"}]),
        ("paikka", "location", True, "Sijainti", "Plats", "Location", []),
        ("kuva", "attachment", False, "Valokuva", "Foto", "Photo", []),
        ("pvm", "date", False, "Havaittu", "Observerad", "Noticed on", []),
        ("lisat", "textarea", False, "Lisätiedot", "Mer", "More", []),
        ("maara", "number", False, "Valojen määrä", "Antal", "Number of lights", []),
        ("toistuu", "yesno", False, "Toistuuko?", "Återkommer?", "Does it recur?", []),
        ("ajat", "multichoice", False, "Milloin", "När", "When",
         [{"key": "aamu", "fi": "Aamulla", "sv": "På morgonen", "en": "Mornings"},
          {"key": "ilta", "fi": "Illalla", "sv": "På kvällen", "en": "Evenings"}]),
        ("pylvas", "device", False, "Pylvään numero", "Stolpens nummer", "Pole number", []),
    ]
    for n, (code, kind, required, fi, sv, en, choices) in enumerate(specs):
        ServiceField.objects.create(service=fault, code=code, kind=kind, required=required,
                                    label_fi=fi, label_sv=sv, label_en=en, choices=choices,
                                    help_en="Help for " + en if code == "vika" else "",
                                    urgent_values=["vaarallinen"] if code == "vika" else [],
                                    ordering=n)
    feedback = Service.objects.create(
        organisation=world.org, code="palaute", name_fi="Palaute", name_sv="Respons",
        name_en="Feedback", on_mobile=True, visibility=Visibility.BOTH, team=world.it_desk)
    intranet = Service.objects.create(
        organisation=world.org, code="salasana", name_fi="Salasana", on_mobile=True,
        visibility=Visibility.INTRANET)
    web_only = Service.objects.create(organisation=world.org, code="verkko",
                                      name_fi="Vain verkossa")
    other = Service.objects.create(organisation=world.other_org, code="katuvalo",
                                   name_fi="Oulun katuvalo", on_mobile=True)
    client, key = create_client(actor=None, organisation=world.org, name="Kaupunkisovellus")
    other_client, other_key = create_client(actor=None, organisation=world.other_org,
                                            name="Oulun sovellus")
    cache.delete_many([f"kapula:open311:{client.pk}", f"kapula:open311:{other_client.pk}"])
    return O311(world, fault, feedback, intranet, web_only, other, key, other_key, client)


@pytest.fixture
def http(live_server, settings) -> Http:
    settings.KAPULA_BASE_URL = live_server.url
    return Http(live_server.url)
