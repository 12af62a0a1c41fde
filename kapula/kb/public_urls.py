"""The public knowledge base (/help/<organisation>/) and the web forms' suggestions."""

from django.urls import path  # noqa: F401

app_name = "kbpublic"
urlpatterns: list = []
