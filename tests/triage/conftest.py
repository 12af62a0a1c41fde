"""Fixtures for the triage tests: a resolved corpus and models trained on it."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from kapula.core.models import OutboxEvent
from kapula.triage import queries
from tests.triage.corpus import Corpus, build


@pytest.fixture(autouse=True)
def _fresh_models(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = str(tmp_path / "media")
    queries.forget()
    cache.clear()
    yield
    queries.forget()
    cache.clear()


@pytest.fixture
def corpus(world) -> Corpus:  # type: ignore[no-untyped-def]
    built = build(world)
    # the corpus's own events are history: tests deliver only what they cause
    OutboxEvent.objects.filter(processed_at__isnull=True).update(processed_at=timezone.now())
    return built


@pytest.fixture
def trained(corpus) -> tuple[Corpus, str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    call_command("train_triage", "--org", "tre", "--seed", "1", stdout=out)
    return corpus, out.getvalue()
