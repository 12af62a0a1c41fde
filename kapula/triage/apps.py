from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "kapula.triage"
    label = "triage"
    verbose_name = _("Triage suggestions")

    def ready(self) -> None:
        from kapula.triage import subscribers  # noqa: F401  (registers the outbox subscriber)
