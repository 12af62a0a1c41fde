from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "kapula.intake.mail"
    label = "mail"
    verbose_name = _("Email")

    def ready(self) -> None:
        from kapula.intake.mail import outbound  # noqa: F401  (registers the outbox subscriber)
