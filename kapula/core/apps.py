from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kapula.core"
    label = "core"
    verbose_name = _("Organisations and people")

    def ready(self) -> None:
        # Register the built-in outbox subscribers (later issues add webhooks, realtime...).
        from kapula.core import subscribers  # noqa: F401
