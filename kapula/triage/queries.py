"""Reads for triage: the training data of an organisation, the text of one ticket, and the
organisation's trained models (loaded lazily, cached per process by version)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache

from kapula.core.models import Organisation, Team
from kapula.tickets.models import Category, Message, MessageKind, Status, Ticket
from kapula.triage import classifier
from kapula.triage.models import Target, TriageModel

CHUNK = 2000


@dataclass(frozen=True)
class Example:
    text: str
    category_id: int | None
    team_id: int | None


def first_bodies(ticket_ids: Iterable[int]) -> dict[int, str]:
    """The first customer message of each ticket (the text triage reads besides the title)."""
    ids = list(ticket_ids)
    out: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        rows = Message.objects.filter(ticket_id__in=ids[start:start + CHUNK],
                                      kind=MessageKind.INBOUND).order_by(
            "ticket_id", "created_at", "id").values_list("ticket_id", "body_text")
        for tid, body in rows:
            out.setdefault(tid, body)
    return out


def training_examples(organisation: Organisation, *, max_samples: int) -> list[Example]:
    """The organisation's newest resolved and closed tickets (merged ones left out: merging
    closes them without a decision about them)."""
    rows = list(Ticket.objects.filter(
        organisation=organisation, status__in=[Status.RESOLVED, Status.CLOSED],
        merged_into__isnull=True).order_by("-id").values_list(
        "id", "title", "category_id", "team_id")[:max_samples])
    bodies = first_bodies(r[0] for r in rows)
    return [Example(classifier.ticket_text(title, bodies.get(tid, "")), cat, team)
            for tid, title, cat, team in rows]


def class_names(organisation: Organisation, target: str, ids: Iterable[int]) -> dict[int, str]:
    model: Any = Category if target == Target.CATEGORY else Team
    lang = organisation.default_language
    return {obj.pk: obj.name_in(lang) for obj in model.objects.filter(
        organisation=organisation, pk__in=sorted(set(ids)))}


# --- trained models, cached per process ---------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    target: str
    version: int
    classes: dict[int, str]
    pipeline: Any


_cache: dict[tuple[int, str], tuple[tuple[int, int, datetime], Loaded]] = {}
_lock = threading.Lock()


def forget() -> None:
    with _lock:
        _cache.clear()


#: how long the list of an organisation's model versions is kept in the shared cache; a
#: new training clears it at once, so this bounds only a lost invalidation
VERSION_CHECK_SECONDS = 60


def version_key(organisation_id: int) -> str:
    return f"triage:models:{organisation_id}"


def models_for(organisation_id: int) -> dict[str, Loaded]:
    """The organisation's models by target. Which versions are current is kept in the
    shared cache (Redis when configured), so a page normally asks the database nothing; the
    serialised model is read only when this process has not loaded that version yet."""
    rows = cache.get(version_key(organisation_id))
    if rows is None:
        rows = list(TriageModel.objects.filter(organisation_id=organisation_id).values_list(
            "pk", "target", "version", "trained_at", "classes"))
        cache.set(version_key(organisation_id), rows, VERSION_CHECK_SECONDS)
    out: dict[str, Loaded] = {}
    stale: dict[int, tuple[str, tuple[int, int, datetime], dict[int, str]]] = {}
    for pk, target, version, trained_at, classes in rows:
        key = (pk, version, trained_at)
        cached = _cache.get((organisation_id, target))
        if cached is not None and cached[0] == key:
            out[target] = cached[1]
        else:
            names = {int(c["id"]): str(c["label"]) for c in classes}
            stale[pk] = (target, key, names)
    if stale:
        for pk, data in TriageModel.objects.filter(pk__in=list(stale)).values_list("pk", "data"):
            target, key, names = stale[pk]
            loaded = Loaded(target, key[1], names, classifier.loads(data))
            with _lock:
                _cache[(organisation_id, target)] = (key, loaded)
            out[target] = loaded
    return out


@dataclass(frozen=True)
class Suggestion:
    target: str
    value_id: int
    label: str
    confidence: float

    @property
    def percent(self) -> int:
        return round(self.confidence * 100)


def suggest(organisation_id: int, title: str, body: str) -> dict[str, Suggestion]:
    """The best category and team for a ticket's text, with their probabilities."""
    text = classifier.ticket_text(title, body)
    out: dict[str, Suggestion] = {}
    for target, loaded in models_for(organisation_id).items():
        value, confidence = classifier.top(loaded.pipeline, text)
        out[target] = Suggestion(target, value, loaded.classes.get(value, str(value)),
                                 confidence)
    return out
