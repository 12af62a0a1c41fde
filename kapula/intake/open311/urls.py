"""Open311 GeoReport v2 under ``/open311/v2/``: every endpoint takes a format suffix
(``.json`` or ``.xml``); anything else under the prefix is the spec's 404."""

from django.urls import path, re_path

from kapula.intake.open311 import views

app_name = "open311"

FMT = r"\.(?P<fmt>[A-Za-z0-9]{1,10})$"

urlpatterns = [
    re_path(r"^discovery" + FMT, views.discovery_view, name="discovery"),
    re_path(r"^services" + FMT, views.services_view, name="services"),
    re_path(r"^services/(?P<code>[-\w]{1,50})" + FMT, views.service_view, name="service"),
    re_path(r"^requests" + FMT, views.requests_view, name="requests"),
    re_path(r"^requests/(?P<number>[-\w]{1,40})" + FMT, views.request_view, name="request"),
    re_path(r"^tokens/(?P<token>[-\w]{1,200})" + FMT, views.token_view, name="token"),
    path("media/<int:attachment_id>", views.media_view, name="media"),
    # unnamed: the catch-all is no endpoint of its own (and always answers 404)
    re_path(r"^(?P<rest>.*)$", views.not_found_view),
]
