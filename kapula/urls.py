from django.contrib import admin
from django.urls import include, path

from kapula.api.urls import api

# Attachments are never served from MEDIA_URL: only through permission-checked views.
urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("forms/", include("kapula.intake.webform.urls")),
    path("open311/v2/", include("kapula.intake.open311.urls")),
    path("portal/", include("kapula.portal.urls")),
    path("help/", include("kapula.kb.public_urls")),
    path("kb/", include("kapula.kb.urls")),
    path("", include("kapula.triage.urls")),
    path("", include("kapula.suppliers.urls")),
    path("", include("kapula.notifications.urls")),
    path("", include("kapula.desk.urls")),
]
