"""The knowledge base in the agents' workspace (/kb/)."""

from django.urls import path

from kapula.kb import views

app_name = "kb"
urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.create_view, name="new"),
    path("<int:article_id>/", views.article_view, name="article"),
    path("<int:article_id>/settings/", views.settings_view, name="settings"),
    path("<int:article_id>/reviewed/", views.reviewed_view, name="reviewed"),
    path("<int:article_id>/attachments/", views.upload_view, name="upload"),
    path("<int:article_id>/<str:lang>/edit/", views.edit_view, name="edit"),
    path("<int:article_id>/<str:lang>/history/", views.history_view, name="history"),
    path("<int:article_id>/<str:lang>/history/<int:version>/", views.revision_view,
         name="revision"),
    path("<int:article_id>/<str:lang>/history/<int:version>/restore/", views.restore_view,
         name="restore"),
    path("attachments/<int:attachment_id>/", views.attachment_view, name="attachment"),
    path("attachments/<int:attachment_id>/remove/", views.remove_attachment_view,
         name="remove_attachment"),
    path("suggest/ticket/<int:ticket_id>/", views.suggest_view, name="suggest"),
    path("from-ticket/<int:ticket_id>/", views.from_ticket_view, name="from_ticket"),
]
