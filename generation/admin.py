"""Knowledge base in the admin: staff edit articles; a notice says when retraining is due."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from generation.knowledge import articles as knowledge
from generation.models import Article, TrainingState

NOT_TRAINED = (
    "The offline responder has not been trained on this knowledge base yet: run "
    "`python manage.py train_responder`. Until then the bot quotes articles directly."
)
STALE = (
    "Articles changed since the responder was trained ({when}). Run `python manage.py "
    "train_responder` so it learns them; until then it may garble new articles, and the fact "
    "check falls back to quoting them."
)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    list_display = ("title", "active", "tag_list", "updated_at")
    list_filter = ("active", "updated_at")
    search_fields = ("title", "body", "questions")
    fields = ("title", "body", "tags", "questions", "active", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="Tags")
    def tag_list(self, obj: Article) -> str:
        return ", ".join(obj.tags or [])

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        state = TrainingState.objects.filter(pk=1).first()
        if state is None:
            messages.warning(request, NOT_TRAINED)
        elif state.kb_fingerprint != knowledge.kb_fingerprint():
            messages.warning(request, STALE.format(when=f"{state.trained_at:%Y-%m-%d %H:%M}"))
        return super().changelist_view(request, extra_context)
