"""The public knowledge base (/help/<organisation>/) and the web forms' suggestions."""

from django.urls import path

from kapula.kb import public_views as views

app_name = "kbpublic"
urlpatterns = [
    path("<slug:org>/", views.index_view, name="index"),
    path("<slug:org>/suggest/", views.suggest_view, name="suggest"),
    path("<slug:org>/feedback/", views.feedback_view, name="feedback"),
    path("<slug:org>/attachments/<int:attachment_id>/", views.attachment_view,
         name="attachment"),
    path("<slug:org>/<int:article_id>/", views.article_view, name="article"),
    path("<slug:org>/<int:article_id>/feedback/", views.article_feedback_view,
         name="article_feedback"),
]
