from __future__ import annotations

from django.contrib import admin
from django.urls import path

from chatsite import health
from conversations import api, schema
from conversations.views import demo

urlpatterns = [
    path("", demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/conversations/", api.conversations_collection, name="api-conversations"),
    path(
        "api/conversations/<str:conversation_id>/messages/",
        api.conversation_messages,
        name="api-messages",
    ),
    path("api/schema/", schema.openapi, name="api-schema"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
