from django.urls import path

from kapula.intake.webform import views

app_name = "webform"
urlpatterns = [
    path("<slug:org>/", views.catalogue_view, name="catalogue"),
    path("<slug:org>/<slug:code>/", views.form_view, name="form"),
    path("<slug:org>/<slug:code>/thanks/<str:token>/", views.thanks_view, name="thanks"),
]
