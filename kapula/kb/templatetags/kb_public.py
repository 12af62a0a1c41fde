"""Template helpers of the public knowledge base and of the web forms' suggestions."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kapula.core.models import Language, Organisation

register = template.Library()


@register.simple_tag
def language_note(wanted: str, shown: str) -> str:
    """"Not available in Swedish – shown in Finnish." (in the page's language)."""
    from kapula.kb.public_views import language_name

    return _("Not available in %(wanted)s – shown in %(shown)s.") % {
        "wanted": language_name(wanted), "shown": language_name(shown)}


@register.inclusion_tag("kbpublic/_suggest_region.html")
def kb_suggest_region(organisation: Organisation, service: Any) -> dict[str, Any]:
    """The web form's "answers that may help" region (filled by kb/public-suggest.js);
    nothing when the organisation has no published public article. One query."""
    from kapula.kb.public_views import shown_articles

    lang = (get_language() or "fi")[:2]
    return {"show": shown_articles(organisation).exists(), "organisation": organisation,
            "service": service, "language": lang if lang in Language.values else "fi"}
