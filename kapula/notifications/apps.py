from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "kapula.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from kapula.notifications import subscribers  # noqa: F401  (registers the subscriber)
