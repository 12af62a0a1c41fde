from django.urls import path

from kapula.intake.webform import views

app_name = "webform"
urlpatterns = [
    path("embed.js", views.embed_script_view, name="embed_script"),
    path("<slug:org>/", views.catalogue_view, name="catalogue"),
    path("<slug:org>/<slug:code>/", views.form_view, name="form"),
    path("<slug:org>/<slug:code>/thanks/<str:token>/", views.thanks_view, name="thanks"),
    path("<slug:org>/<slug:code>/embed/", views.embed_view, name="embed"),
    path("<slug:org>/<slug:code>/embed/thanks/<str:token>/", views.embed_thanks_view,
         name="embed_thanks"),
]
