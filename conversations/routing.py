from __future__ import annotations

from django.urls import path

from conversations.consumers import ConversationConsumer
from conversations.staff_consumers import StaffConsumer

websocket_urlpatterns = [
    path("ws/conversations/<str:conversation_id>/", ConversationConsumer.as_asgi()),
    path("ws/staff/", StaffConsumer.as_asgi()),
]
