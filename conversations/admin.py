"""Admin: conversations with a read-only chat transcript, search by message text."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations.models import Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("short_id", "status", "message_count", "first_message", "created_at", "updated_at")
    list_filter = ("status", "created_at", "updated_at")
    search_fields = ("messages__text", "=id")
    readonly_fields = ("id", "status", "origin", "created_at", "updated_at", "transcript")
    fields = ("id", "status", "origin", "created_at", "updated_at", "transcript")
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).prefetch_related("messages")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Conversation], search_term: str
    ) -> tuple[QuerySet[Conversation], bool]:
        results, _ = super().get_search_results(request, queryset, search_term)
        return results.distinct(), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Conversation")
    def short_id(self, obj: Conversation) -> str:
        return str(obj.id)[:8]

    @admin.display(description="Messages")
    def message_count(self, obj: Conversation) -> int:
        return len(obj.messages.all())

    @admin.display(description="First message")
    def first_message(self, obj: Conversation) -> str:
        for message in obj.messages.all():
            if message.role == Message.Role.CUSTOMER:
                return message.text[:80]
        return ""

    @admin.display(description="Transcript")
    def transcript(self, obj: Conversation) -> SafeString:
        rows = format_html_join(
            "",
            '<div class="parley-msg parley-{}" style="margin:6px 0;padding:8px 10px;border-radius:8px;'
            'max-width:640px;background:{}"><div style="font-size:11px;color:#555">#{} {} · {} · {}{}</div>'
            '<div style="white-space:pre-wrap">{}</div></div>',
            (
                (
                    m.role,
                    "#e8f0fe" if m.role == Message.Role.CUSTOMER else "#f1f3f4",
                    m.seq,
                    m.get_role_display(),
                    m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    m.status,
                    format_html(" · sources: {}", ", ".join(s.get("title", "") for s in m.sources))
                    if m.sources
                    else "",
                    m.text,
                )
                for m in obj.messages.all()
            ),
        )
        return format_html('<div class="parley-transcript">{}</div>', rows)
