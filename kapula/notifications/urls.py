from django.urls import path

from kapula.notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.list_view, name="list"),
    path("notifications/badge/", views.badge_view, name="badge"),
    path("notifications/read-all/", views.read_all_view, name="read_all"),
    path("notifications/preferences/", views.preferences_view, name="preferences"),
    path("notifications/<int:notification_id>/read/", views.read_view, name="read"),
]
