"""The triage admin: models with their metrics (read only), the auto-apply setting, each
organisation's own rows only."""

from __future__ import annotations

import pytest

from kapula.triage.actions import store_model
from kapula.triage.models import TriageModel, TriageSettings
from tests.desk.conftest import logged_in

pytestmark = pytest.mark.django_db


def _model(org, target="category"):  # type: ignore[no-untyped-def]
    return store_model(organisation=org, target=target, data=b"x", n_samples=50,
                       classes=[{"id": 1, "label": "Katuvalot"}, {"id": 2, "label": "Palaute"}],
                       metrics={"accuracy": 0.9312, "per_class": {
                           "Katuvalot": {"precision": 1.0, "recall": 0.9, "f1": 0.95,
                                         "support": 10}}, "excluded": {"Pysäköinti": 3}})


def test_org_admin_sees_own_models_with_metrics(world):
    own = _model(world.org)
    other = _model(world.other_org)
    client = logged_in(world.org_admin)
    listing = client.get("/admin/triage/triagemodel/")
    assert listing.status_code == 200
    assert "93.1%" in listing.content.decode()
    assert f"/admin/triage/triagemodel/{own.pk}/change/" in listing.content.decode()
    assert f"/admin/triage/triagemodel/{other.pk}/change/" not in listing.content.decode()
    detail = client.get(f"/admin/triage/triagemodel/{own.pk}/change/").content.decode()
    assert "<th scope='row'>Katuvalot</th><td>1.00</td><td>0.90</td>" in detail
    assert "Pysäköinti (3)" in detail
    assert client.get("/admin/triage/triagemodel/add/").status_code == 403
    assert client.get(f"/admin/triage/triagemodel/{other.pk}/change/").status_code == 302
    # deleting a model turns its suggestions off
    response = client.post(f"/admin/triage/triagemodel/{own.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TriageModel.objects.filter(pk=own.pk).exists()


def test_store_model_bumps_the_version(world):
    assert _model(world.org).version == 1
    assert _model(world.org).version == 2
    assert TriageModel.objects.filter(organisation=world.org).count() == 1


def test_threshold_setting(world):
    client = logged_in(world.org_admin)
    response = client.post("/admin/triage/triagesettings/add/",
                           {"auto_apply": "on", "threshold": "0.85"})
    assert response.status_code == 302
    setting = TriageSettings.objects.get()
    assert setting.organisation == world.org and setting.auto_apply
    assert setting.threshold == 0.85
    # one row per organisation: no second one
    assert client.get("/admin/triage/triagesettings/add/").status_code == 403
    response = client.post(f"/admin/triage/triagesettings/{setting.pk}/change/",
                           {"auto_apply": "on", "threshold": "0.2"})
    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    setting.refresh_from_db()
    assert setting.threshold == 0.85
    assert logged_in(world.agent).get("/admin/triage/triagesettings/").status_code == 302
