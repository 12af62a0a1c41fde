"""Train the triage classifiers (category and team) of each organisation on its own
resolved and closed tickets, print how well they do on a held-out split, and store them."""

from __future__ import annotations

import time
from typing import Any

import sklearn
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kapula.core.models import Organisation
from kapula.triage import actions, classifier, queries
from kapula.triage.models import Target


class Command(BaseCommand):
    help = ("Train the triage suggestions (category and team) per organisation on its "
            "resolved tickets; print precision/recall/f1 per class on a held-out split.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="only this organisation (its identifier, the slug)")
        parser.add_argument("--min-per-class", type=int, default=10,
                            help="leave out categories/teams with fewer tickets (default 10)")
        parser.add_argument("--test-size", type=float, default=0.2,
                            help="share of tickets held out for evaluation (default 0.2)")
        parser.add_argument("--seed", type=int, default=0,
                            help="random seed of the split and the model (default 0)")
        parser.add_argument("--max-samples", type=int, default=50_000,
                            help="use at most this many of the newest tickets (default 50000)")
        parser.add_argument("--dry-run", action="store_true",
                            help="evaluate only; keep the stored models as they are")

    def handle(self, *args: Any, **options: Any) -> None:
        min_per_class: int = options["min_per_class"]
        test_size: float = options["test_size"]
        seed: int = options["seed"]
        max_samples: int = options["max_samples"]
        if min_per_class < 2:
            raise CommandError("--min-per-class must be at least 2 (a class needs examples "
                               "on both sides of the held-out split).")
        if not 0.0 < test_size < 1.0:
            raise CommandError("--test-size must be between 0 and 1, e.g. 0.2.")
        if seed < 0:
            raise CommandError("--seed must be 0 or more.")
        if max_samples < 2:
            raise CommandError("--max-samples must be at least 2.")
        orgs = Organisation.objects.order_by("slug")
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"No organisation with the identifier {options['org']!r}.")
        stored = 0
        for org in orgs:
            stored += self._train_org(org, min_per_class=min_per_class, test_size=test_size,
                                      seed=seed, max_samples=max_samples,
                                      dry_run=options["dry_run"])
        self.stdout.write(f"Done: {stored} model(s) stored.")

    def _train_org(self, org: Organisation, *, min_per_class: int, test_size: float,
                   seed: int, max_samples: int, dry_run: bool) -> int:
        examples = queries.training_examples(org, max_samples=max_samples)
        self.stdout.write(f"== {org.slug} ({org.name}): {len(examples)} resolved tickets")
        stored = 0
        for target in (Target.CATEGORY, Target.TEAM):
            pairs = [(e.text, getattr(e, f"{target}_id")) for e in examples]
            pairs = [(t, y) for t, y in pairs if y is not None]
            names = queries.class_names(org, target, (y for _, y in pairs))
            data = classifier.drop_small_classes(
                [t for t, _ in pairs], [y for _, y in pairs], names, min_per_class)
            self.stdout.write(f"-- {target}: {len(data.labels)} tickets in "
                              f"{len(data.classes)} classes")
            if data.excluded:
                left_out = ", ".join(f"{names.get(c, c)} ({n})"
                                     for c, n in sorted(data.excluded.items()))
                self.stdout.write(f"   left out, fewer than {min_per_class} tickets: "
                                  f"{left_out}")
            started = time.monotonic()
            try:
                ev = classifier.evaluate(data, test_size=test_size, seed=seed)
            except classifier.NotEnoughData as exc:
                self.stdout.write(f"   not trained: {exc}")
                continue
            self.stdout.write(f"   held out {ev.n_test} of {len(data.labels)} tickets "
                              f"(test size {test_size:g}, seed {seed}):")
            self.stdout.write(ev.report)
            self.stdout.write(f"   {target} accuracy: {ev.accuracy:.3f} "
                              f"(macro f1 {ev.macro_f1:.3f})")
            if dry_run:
                continue
            pipe = classifier.fit(data, seed=seed)
            metrics = {
                "accuracy": round(ev.accuracy, 4), "macro_f1": round(ev.macro_f1, 4),
                "per_class": ev.per_class, "n_train": ev.n_train, "n_test": ev.n_test,
                "test_size": test_size, "seed": seed, "min_per_class": min_per_class,
                "excluded": {names.get(c, str(c)): n for c, n in data.excluded.items()},
                "seconds": round(time.monotonic() - started, 2),
                "sklearn": sklearn.__version__,
            }
            row = actions.store_model(
                organisation=org, target=target, data=classifier.dumps(pipe),
                classes=[{"id": int(c), "label": names.get(int(c), str(c))}
                         for c in pipe.classes_],
                n_samples=len(data.labels), metrics=metrics)
            self.stdout.write(f"   stored {target} model version {row.version} "
                              f"(trained on all {len(data.labels)} tickets)")
            stored += 1
        return stored
