from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Django 6.1 strings that Django's own fi/sv catalogues do not translate yet (admin and the
# empty-choice label). Marking them here puts them in our catalogues, which take precedence
# (LOCALE_PATHS). Drop an entry once Django ships its translation.
DJANGO_STRINGS = (
    gettext_noop("- Select an option -"),
    gettext_noop("Run"),
    gettext_noop("Change or view list link"),
    gettext_noop("Search %(name)s"),
    gettext_noop("Pagination %(name)s"),
    gettext_noop("Pagination %(name)s entries"),
    gettext_noop("Deleting the %(object_name)s “%(escaped_object)s” would result in deleting "
                 "related objects, but your account doesn't have permission to delete the "
                 "following types of objects:"),
    gettext_noop("Deleting the %(object_name)s “%(escaped_object)s” would require deleting "
                 "the following protected related objects:"),
    gettext_noop("Are you sure you want to delete the %(object_name)s “%(escaped_object)s”? "
                 "All of the following related items will be deleted:"),
)


class CoreConfig(AppConfig):
    name = "kapula.core"
    label = "core"
    verbose_name = _("Organisations and people")

    def ready(self) -> None:
        # Register the built-in outbox subscribers (later issues add webhooks, realtime...).
        from kapula.core import subscribers  # noqa: F401
