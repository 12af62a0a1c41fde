"""The interactive API docs page, served entirely from this server.

django-ninja ships Swagger UI's files inside its package; we serve them from there (the
``ninja`` app is not installed, so they are not static files) and render our own page:
external scripts from our own origin only, no inline script, no CDN. That fits the
site-wide Content-Security-Policy (``script-src 'self'`` plus nonce).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from ninja.openapi.docs import DocsBase

if TYPE_CHECKING:
    from ninja import NinjaAPI

ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}


class LocalSwagger(DocsBase):
    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout",
                    "deepLinking": True, "persistAuthorization": False}
        return render(request, "api/docs.html", {
            "title": api.title,
            "swagger_settings": json.dumps(settings),
            "asset": {name.split(".")[0].replace("-", "_"): reverse(
                f"{api.urls_namespace}:docs-asset", args=[name]) for name in ASSETS},
        })


@cache_control(max_age=86400, public=True)
def asset(request: HttpRequest, name: str) -> HttpResponseBase:
    if name not in ASSETS:
        from kapula.api.errors import error_response

        return error_response(404, "not_found", _("Not found."))
    return FileResponse((ASSET_DIR / name).open("rb"), content_type=ASSETS[name])
