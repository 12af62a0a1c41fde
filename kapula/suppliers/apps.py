from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuppliersConfig(AppConfig):
    name = "kapula.suppliers"
    label = "suppliers"
    verbose_name = _("Escalation and suppliers")

    def ready(self) -> None:
        from kapula.suppliers import delivery  # noqa: F401  (registers outbox subscribers)
