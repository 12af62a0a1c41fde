from django.urls import path

from kapula.suppliers import views

app_name = "suppliers"
urlpatterns = [
    path("tickets/<int:ticket_id>/escalate/", views.escalate_view, name="escalate"),
    path("tickets/<int:ticket_id>/return/", views.return_view, name="return"),
    path("tickets/<int:ticket_id>/engagements/<int:engagement_id>/", views.engagement_view,
         name="engagement"),
    path("tickets/<int:ticket_id>/engagements/<int:engagement_id>/message/",
         views.engagement_message_view, name="engagement_message"),
]
