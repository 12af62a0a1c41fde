"""The text classifier itself, with no database: build, evaluate, serialise, load.

Features are language-agnostic: TF-IDF over words and word bigrams plus TF-IDF over
character 2-5-grams inside word boundaries. The character n-grams catch Finnish and Swedish
inflection and compounds ("katuvalo", "katuvalon", "katuvaloissa") without a stemmer per
language. The model is a multinomial logistic regression, whose ``predict_proba`` gives
the confidence shown to agents and compared with the auto-apply threshold.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline

#: the most text used from one ticket (title + first message)
MAX_CHARS = 3000


def ticket_text(title: str, body: str) -> str:
    return f"{title}\n{body}"[:MAX_CHARS]


def build_pipeline(seed: int = 0) -> Pipeline:
    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                  min_df=1, max_features=200_000)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                  min_df=2, max_features=300_000)),
    ])
    model = LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
    return Pipeline([("features", features), ("model", model)])


@dataclass
class Evaluation:
    """What one training run measured on the held-out split."""

    report: str
    accuracy: float
    per_class: dict[str, dict[str, float]]
    macro_f1: float
    n_train: int
    n_test: int


@dataclass
class Dataset:
    texts: list[str]
    labels: list[int]
    names: dict[int, str]
    excluded: dict[int, int] = field(default_factory=dict)

    @property
    def classes(self) -> list[int]:
        return sorted(set(self.labels))


def drop_small_classes(texts: Sequence[str], labels: Sequence[int], names: dict[int, str],
                       min_per_class: int) -> Dataset:
    """Leave out the classes with fewer than ``min_per_class`` examples."""
    counts = Counter(labels)
    keep = {c for c, n in counts.items() if n >= min_per_class}
    kept = [(t, y) for t, y in zip(texts, labels, strict=True) if y in keep]
    return Dataset(texts=[t for t, _ in kept], labels=[y for _, y in kept], names=names,
                   excluded={c: n for c, n in counts.items() if c not in keep})


class NotEnoughData(ValueError):
    """The data cannot give a model or a held-out evaluation (said in the message)."""


def evaluate(data: Dataset, *, test_size: float, seed: int) -> Evaluation:
    """Train on a stratified share of ``data`` and measure on the rest."""
    n, k = len(data.labels), len(data.classes)
    if k < 2:
        raise NotEnoughData(f"needs at least 2 classes, has {k}")
    n_test = max(1, round(n * test_size))
    if n_test < k or n - n_test < k:
        raise NotEnoughData(
            f"a held-out share of {test_size:g} of {n} tickets cannot hold every one of "
            f"{k} classes in both parts")
    x_train, x_test, y_train, y_test = train_test_split(
        data.texts, data.labels, test_size=n_test, stratify=data.labels, random_state=seed)
    pipe = build_pipeline(seed).fit(x_train, y_train)
    predicted = pipe.predict(x_test)
    names = [data.names.get(c, str(c)) for c in data.classes]
    report = classification_report(y_test, predicted, labels=data.classes, target_names=names,
                                   digits=3, zero_division=0)
    as_dict: dict[str, Any] = classification_report(
        y_test, predicted, labels=data.classes, target_names=names, output_dict=True,
        zero_division=0)
    per_class = {
        name: {"precision": round(float(v["precision"]), 4),
               "recall": round(float(v["recall"]), 4),
               "f1": round(float(v["f1-score"]), 4), "support": int(v["support"])}
        for name, v in as_dict.items() if name in names
    }
    return Evaluation(
        report=str(report), accuracy=float(accuracy_score(y_test, predicted)),
        per_class=per_class, macro_f1=float(as_dict["macro avg"]["f1-score"]),
        n_train=len(y_train), n_test=len(y_test),
    )


def fit(data: Dataset, *, seed: int) -> Pipeline:
    if len(data.classes) < 2:
        raise NotEnoughData(f"needs at least 2 classes, has {len(data.classes)}")
    return build_pipeline(seed).fit(data.texts, data.labels)


def dumps(pipe: Pipeline) -> bytes:
    buf = io.BytesIO()
    joblib.dump(pipe, buf, compress=3)
    return buf.getvalue()


def loads(data: bytes) -> Pipeline:
    """Load a model stored by :func:`dumps`. Only ever called on bytes from our own
    database (a pickle is code: never load one from elsewhere)."""
    return joblib.load(io.BytesIO(bytes(data)))


def top(pipe: Pipeline, text: str) -> tuple[int, float]:
    """The most probable class of ``text`` and its probability."""
    proba = pipe.predict_proba([text])[0]
    best = int(proba.argmax())
    return int(pipe.classes_[best]), float(proba[best])
