from __future__ import annotations

from django.contrib import admin
from django.urls import path

from chatsite import health, metrics, ops
from conversations import api, schema, staff_api
from conversations.views import console, demo

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
    path("api/staff/conversations/", staff_api.conversation_list, name="staff-conversations"),
    path("api/staff/conversations/<str:conversation_id>/", staff_api.conversation_detail, name="staff-conversation"),
    path("api/staff/conversations/<str:conversation_id>/export/", staff_api.conversation_export, name="staff-export"),
    path("api/staff/conversations/<str:conversation_id>/takeover/", staff_api.takeover, name="staff-takeover"),
    path("api/staff/conversations/<str:conversation_id>/handback/", staff_api.handback, name="staff-handback"),
    path("api/staff/conversations/<str:conversation_id>/messages/", staff_api.agent_message, name="staff-messages"),
    path("api/staff/conversations/<str:conversation_id>/notes/", staff_api.note, name="staff-notes"),
    path("api/staff/conversations/<str:conversation_id>/suggestions/", staff_api.suggestions, name="staff-suggestions"),
    path("console/", console, name="console"),
    path("ops/", ops.ops, name="ops"),
    path("metrics", metrics.metrics, name="metrics"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
