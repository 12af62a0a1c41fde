"""`kapula train_triage`: the held-out report, the stored models, bad options."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from kapula.triage import classifier, queries
from kapula.triage.models import TriageModel

pytestmark = pytest.mark.django_db


def test_report_per_class_and_overall(trained):
    _corpus, out = trained
    for name in ("Katuvalot", "Tiet ja kadut", "Salasanat", "Tulostimet", "Palaute",
                 "Katupalvelut", "IT-tuki", "Palvelupiste"):
        assert re.search(rf"^\s*{name}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+[01]\.\d{{3}}\s+\d+$",
                         out, re.M), name
    assert "precision    recall  f1-score   support" in out
    assert re.search(r"category accuracy: (1\.000|0\.9\d\d)", out)
    assert re.search(r"team accuracy: (1\.000|0\.9\d\d)", out)
    assert "Done: 2 model(s) stored." in out


def test_models_are_stored_in_the_database_with_metrics(trained, world):
    rows = {m.target: m for m in TriageModel.objects.filter(organisation=world.org)}
    assert set(rows) == {"category", "team"}
    cat, team = rows["category"], rows["team"]
    assert cat.version == 1 and cat.n_samples == 180 and team.n_samples == 184
    # clean data with distinct vocabulary: near-perfect on the held-out split
    assert cat.metrics["accuracy"] >= 0.95
    assert team.metrics["accuracy"] >= 0.9
    assert cat.metrics["n_test"] == 36 and cat.metrics["test_size"] == 0.2
    assert set(cat.metrics["per_class"]["Salasanat"]) == {"precision", "recall", "f1",
                                                          "support"}
    assert {c["label"] for c in cat.classes} == {"Katuvalot", "Tiet ja kadut", "Salasanat",
                                                 "Tulostimet", "Palaute"}
    pipe = classifier.loads(bytes(cat.data))
    assert hasattr(pipe, "predict_proba")
    assert not TriageModel.objects.filter(organisation=world.other_org).exists()


def test_small_classes_are_left_out_and_said(trained, world):
    _corpus, out = trained
    assert "left out, fewer than 10 tickets: Pysäköinti (4)" in out
    cat = TriageModel.objects.get(organisation=world.org, target="category")
    assert "Pysäköinti" not in {c["label"] for c in cat.classes}
    assert cat.metrics["excluded"] == {"Pysäköinti": 4}
    # with a lower limit the class is kept
    out2 = io.StringIO()
    call_command("train_triage", "--org", "tre", "--min-per-class", "3", stdout=out2)
    cat.refresh_from_db()
    assert "Pysäköinti" in {c["label"] for c in cat.classes}
    assert "left out" not in out2.getvalue().split("-- team")[0]


def test_retraining_bumps_the_version_and_processes_reload(trained, world):
    corpus, _out = trained
    before = queries.models_for(world.org.pk)["category"]
    assert before.version == 1
    call_command("train_triage", "--org", "tre", "--min-per-class", "3", stdout=io.StringIO())
    after = queries.models_for(world.org.pk)["category"]
    assert after.version == 2 and after is not before
    assert corpus.categories["parking"].pk in after.classes
    # an unchanged model is not read again
    assert queries.models_for(world.org.pk)["category"] is after


def test_dry_run_stores_nothing(corpus, world):
    out = io.StringIO()
    call_command("train_triage", "--dry-run", stdout=out)
    assert "category accuracy" in out.getvalue()
    assert "Done: 0 model(s) stored." in out.getvalue()
    assert not TriageModel.objects.exists()


def test_every_organisation_by_default_and_too_little_data(world):
    out = io.StringIO()
    call_command("train_triage", stdout=out)
    text = out.getvalue()
    assert "== oulu (Oulu): 0 resolved tickets" in text
    assert "== tre (Tampere): 0 resolved tickets" in text
    assert "not trained: needs at least 2 classes, has 0" in text
    assert not TriageModel.objects.exists()


def test_split_too_small_for_the_classes(corpus):
    out = io.StringIO()
    call_command("train_triage", "--org", "tre", "--test-size", "0.01", stdout=out)
    assert "cannot hold every one of 5 classes" in out.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "nope"], "No organisation with the identifier 'nope'"),
    (["--min-per-class", "1"], "--min-per-class must be at least 2"),
    (["--test-size", "0"], "--test-size must be between 0 and 1"),
    (["--test-size", "1.5"], "--test-size must be between 0 and 1"),
    (["--test-size", "much"], "invalid float value: 'much'"),
    (["--seed", "-3"], "--seed must be 0 or more"),
    (["--min-per-class", "ten"], "invalid int value: 'ten'"),
    (["--max-samples", "1"], "--max-samples must be at least 2"),
])
def test_bad_options_are_clear_errors(world, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("train_triage", *args, stdout=io.StringIO())
    assert not TriageModel.objects.exists()
