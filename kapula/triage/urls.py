from django.urls import path

from kapula.triage import views

app_name = "triage"
urlpatterns = [
    path("tickets/<int:ticket_id>/triage/apply/", views.apply_view, name="apply"),
]
