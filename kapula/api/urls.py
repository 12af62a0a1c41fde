"""The REST API, mounted at /api/v1/ (see docs/subsystems/api.md)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.parser import Parser

from kapula.api import catalog, customers, docs, errors, tickets
from kapula.api.auth import ApiTokenAuth


def _clean(value: Any) -> Any:
    """Drop NUL characters, which no text column can store."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


class CleanParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        return _clean(json.loads(request.body))

    def parse_querydict(self, data: Any, list_fields: list[str], request: HttpRequest
                        ) -> dict[str, Any]:
        return _clean(super().parse_querydict(data, list_fields, request))  # type: ignore[no-any-return,unused-ignore]


def _json_405(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response.get("Allow", "")
            return errors.error_response(
                405, "method_not_allowed", _("This method is not allowed here."),
                details={"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
                headers={"Allow": allowed})
        return response
    return wrapper


def _index(request: HttpRequest) -> HttpResponse:
    """/api/v1/ itself: where the documentation and the schema are."""
    return JsonResponse({"name": "Kapula API", "version": "1",
                         "docs": request.build_absolute_uri("docs"),
                         "openapi": request.build_absolute_uri("openapi.json")})


@csrf_exempt
def _unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return errors.error_response(404, "not_found", _("There is no such API endpoint."))


class KapulaAPI(NinjaAPI):
    """NinjaAPI whose every answer, even for unknown paths and methods, is JSON."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        patterns = []
        for item in super()._get_urls():
            if isinstance(item, URLPattern) and item.name == "api-root":
                item = path("", _index, name="api-root")
            elif isinstance(item, URLPattern):
                item = URLPattern(item.pattern, _json_405(item.callback), item.default_args,
                                  item.name)
            patterns.append(item)
        patterns.append(path("docs/assets/<str:name>", docs.asset, name="docs-asset"))
        patterns.append(re_path(r"^(?P<rest>.*)$", _unknown))
        return patterns


api = KapulaAPI(
    title="Kapula API",
    version="1",
    description=(
        "Kapula's REST API. Authenticate with `Authorization: Bearer <token>`; tokens are "
        "created with `kapula create_api_token USERNAME`. Errors are JSON objects with a "
        "stable `code` and a human `message`. POST requests accept an `Idempotency-Key`."
    ),
    urls_namespace="api",
    auth=ApiTokenAuth(),
    parser=CleanParser(),
    docs=docs.LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
errors.install(api)
api.add_router("", tickets.router)
api.add_router("", customers.router)
api.add_router("", catalog.router)
