from django.urls import path

from kapula.desk import maps, routing, views

app_name = "desk"
urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("language/", views.set_language, name="set_language"),
    path("tickets/new/", views.new_ticket_view, name="new_ticket"),
    path("tickets/<int:ticket_id>/", views.ticket_view, name="ticket"),
    path("tickets/<int:ticket_id>/reply/", views.reply_view, name="reply"),
    path("tickets/<int:ticket_id>/update/", views.update_view, name="update"),
    path("tickets/<int:ticket_id>/take/", views.take_view, name="take"),
    path("tickets/<int:ticket_id>/link/", views.link_view, name="link"),
    path("tickets/<int:ticket_id>/merge/", views.merge_view, name="merge"),
    path("attachments/<int:attachment_id>/", views.attachment_view, name="attachment"),
    path("mail/<int:inbound_id>/original.eml", views.inbound_raw_view, name="inbound_raw"),
    path("customers/search/", views.customer_search_view, name="customer_search"),
    path("search/", views.search_view, name="search"),
    path("map/", maps.map_view, name="map"),
    path("map/tickets.geojson", maps.geojson_view, name="map_geojson"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("availability/", routing.availability_view, name="availability"),
    path("availability/team/", routing.team_availability_view, name="team_availability"),
    path("tokens/<int:token_id>/revoke/", views.revoke_token_view, name="revoke_token"),
]
