from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "kapula.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        from kapula.routing import forward  # noqa: F401  (registers the outbox subscriber)
