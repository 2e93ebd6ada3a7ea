from __future__ import annotations

from django.contrib import admin
from django.urls import path

from chatsite import health, metrics, ops
from conversations.api import api
from conversations.views import console, demo, knowledge_gaps

urlpatterns = [
    path("", demo, name="demo"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),  # customer and staff endpoints, and their OpenAPI document at /api/schema/
    path("console/", console, name="console"),
    path("console/gaps/", knowledge_gaps, name="knowledge_gaps"),
    path("ops/", ops.ops, name="ops"),
    path("metrics", metrics.metrics, name="metrics"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
