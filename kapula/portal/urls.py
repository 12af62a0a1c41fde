from django.urls import path

from kapula.portal import views

app_name = "portal"
urlpatterns = [
    path("<slug:org>/", views.tickets_view, name="tickets"),
    path("<slug:org>/login/", views.login_view, name="login"),
    path("<slug:org>/login/<str:token>/", views.redeem_view, name="redeem"),
    path("<slug:org>/logout/", views.logout_view, name="logout"),
    path("<slug:org>/tickets/<str:number>/", views.ticket_view, name="ticket"),
    path("<slug:org>/tickets/<str:number>/reply/", views.reply_view, name="reply"),
    path("<slug:org>/tickets/<str:number>/close/", views.close_view, name="close"),
    path("<slug:org>/tickets/<str:number>/reopen/", views.reopen_view, name="reopen"),
    path("<slug:org>/tickets/<str:number>/rate/", views.rate_view, name="rate"),
    path("<slug:org>/attachments/<int:attachment_id>/", views.attachment_view,
         name="attachment"),
]
