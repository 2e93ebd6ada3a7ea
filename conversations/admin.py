"""Admin: conversations with a read-only chat transcript, search by message text."""

from __future__ import annotations

import csv
import io
import json

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from conversations import services
from conversations.models import AuditLog, Conversation, Message

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@admin.action(description="Export selected conversations as CSV")
def export_csv(modeladmin: object, request: HttpRequest, queryset: QuerySet[Conversation]) -> HttpResponse:
    rows = services.conversations_export(
        conversations=queryset, actor=request.user.get_username(), via="admin CSV export"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["conversation", "seq", "role", "status", "created_at", "text", "sources", "grounded", "handoff", "feedback"]
    )
    for conv in rows:
        for m in conv["messages"]:  # type: ignore[attr-defined]
            writer.writerow(
                [
                    spreadsheet_safe(v)
                    for v in (
                        conv["conversation"],
                        m["seq"],
                        m["role"],
                        m["status"],
                        m["created_at"],
                        m["text"],
                        "; ".join(t or "" for t in m["sources"]),
                        m["grounded"],
                        m["handoff"],
                        m["feedback"],
                    )
                ]
            )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="conversations.csv"'
    return response


@admin.action(description="Export selected conversations as JSON")
def export_json(modeladmin: object, request: HttpRequest, queryset: QuerySet[Conversation]) -> HttpResponse:
    rows = services.conversations_export(
        conversations=queryset, actor=request.user.get_username(), via="admin JSON export"
    )
    response = HttpResponse(json.dumps(rows, indent=1, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="conversations.json"'
    return response


def message_flag_filter(field: str, title: str, yes: str, no: str) -> type[admin.SimpleListFilter]:
    """A filter on conversations by whether any of their messages has ``field`` set."""

    class Filter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: object) -> list[tuple[str, str]]:
            return [("yes", yes), ("no", no)]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
            has = Q(**{f"messages__{field}": True})
            if self.value() == "yes":
                return queryset.filter(has).distinct()
            if self.value() == "no":
                return queryset.exclude(has)
            return queryset

    Filter.title = title
    return Filter


HandoffFilter = message_flag_filter("handoff", "handoff", "Bot handed off", "No handoff")
GroundedFilter = message_flag_filter("grounded", "grounded answers", "Has grounded answers", "No grounded answer")


def _feedback_line(message: Message) -> SafeString:
    parts = [{1: "customer: thumbs up", -1: "customer: thumbs down"}.get(message.feedback or 0, "")]
    if message.approved_for_training:
        parts.append("approved for training")
    text = " · ".join(p for p in parts if p)
    return format_html('<div style="font-size:11px;color:#92400e">{}</div>', text) if text else SafeString("")


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = (
        "short_id",
        "status",
        "agent",
        "rating",
        "message_count",
        "first_message",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", HandoffFilter, GroundedFilter, "rating", "created_at", "updated_at")
    actions = [export_csv, export_json]
    search_fields = ("messages__text", "=id")
    readonly_fields = (
        "id",
        "status",
        "agent",
        "rating",
        "rating_comment",
        "origin",
        "created_at",
        "updated_at",
        "transcript",
    )
    fields = ("id", "status", "agent", "rating", "rating_comment", "origin", "created_at", "updated_at", "transcript")
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

    def delete_model(self, request: HttpRequest, obj: Conversation) -> None:
        # Erasures are audited wherever they are made.
        services.conversation_delete(conversation=obj, actor=request.user.get_username(), via="admin")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Conversation]) -> None:
        services.conversations_delete(
            conversations=queryset, actor=request.user.get_username(), via="admin bulk delete"
        )

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
            '{}<div style="white-space:pre-wrap">{}</div></div>',
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
                    _feedback_line(m),
                    m.text,
                )
                for m in obj.messages.all()
            ),
        )
        return format_html('<div class="parley-transcript">{}</div>', rows)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    """Answers staff can approve as training material for ``train_responder``."""

    list_display = (
        "short_text",
        "role",
        "status",
        "feedback",
        "grounded",
        "handoff",
        "approved_for_training",
        "created_at",
    )
    list_filter = ("role", "status", "feedback", "grounded", "handoff", "approved_for_training", "created_at")
    search_fields = ("text",)
    actions = ["approve", "unapprove"]
    readonly_fields = [f.name for f in Message._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).filter(role__in=[Message.Role.ASSISTANT, Message.Role.AGENT])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a transcript is erased whole, through its conversation (audited)

    @admin.display(description="Text")
    def short_text(self, obj: Message) -> str:
        return obj.text[:100]

    @admin.action(description="Approve for training")
    def approve(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = services.messages_approve(message_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} answers approved for training.")

    @admin.action(description="Withdraw training approval")
    def unapprove(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        services.messages_approve(message_ids=list(queryset.values_list("pk", flat=True)), approved=False)


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin[AuditLog]):
    list_display = ("created_at", "actor", "action", "conversation_id", "detail")
    list_filter = ("action", "created_at")
    search_fields = ("actor", "=conversation_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
