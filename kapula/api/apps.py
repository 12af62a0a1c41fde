from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kapula.api"
    label = "api"
    verbose_name = "REST API"
