"""Admin: conversations with a read-only chat transcript, search by message text."""

from __future__ import annotations

import csv
import io
import json
import re
from itertools import chain
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from conversations import services
from conversations.models import AuditLog, Conversation, Message, Note, SavedReply
from conversations.payloads import display_name

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
FEEDBACK_WORDS = {1: "helpful", -1: "not helpful"}
CSV_HEADER = [
    "conversation",
    "seq",
    "role",
    "author",
    "status",
    "created_at",
    "text",
    "sources",
    "grounded",
    "handoff",
    "feedback",
    "rating",
]


def spreadsheet_safe(value: object) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection): a cell that starts like
    a formula gets a leading ``'``; numbers ("-3", "+4.5") and every other cell stay as they are."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


@admin.action(description="Export selected conversations as CSV")
def export_csv(modeladmin: object, request: HttpRequest, queryset: QuerySet[Conversation]) -> HttpResponse:
    rows = services.conversations_export(
        conversations=queryset, actor=request.user.get_username(), via="admin CSV export"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for conv in rows:
        for m in conv["messages"]:
            writer.writerow(
                [
                    spreadsheet_safe(v)
                    for v in (
                        conv["conversation"],
                        m["seq"],
                        m["role"],
                        m["author"],
                        m["status"],
                        m["created_at"],
                        m["text"],
                        "; ".join(t or "" for t in m["sources"]),
                        m["grounded"],
                        m["handoff"],
                        FEEDBACK_WORDS.get(m["feedback"], ""),
                        conv["rating"],
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
    parts = [{1: "customer: helpful", -1: "customer: not helpful"}.get(message.feedback or 0, "")]
    if message.approved_for_training:
        parts.append("approved for training")
    text = " · ".join(p for p in parts if p)
    return format_html('<div style="font-size:11px;color:#92400e">{}</div>', text) if text else SafeString("")


_BOX = "margin:6px 0;padding:8px 10px;border-radius:8px;max-width:640px;background:{}"
_HANDOFF = SafeString(
    '<div class="parley-handoff" style="margin:4px 0 8px;color:#991b1b;font-size:12px;font-weight:600">'
    "⇢ Handed over to a person</div>"
)
_ROLE_BACKGROUND: dict[str, str] = {Message.Role.CUSTOMER: "#e8f0fe", Message.Role.AGENT: "#e6f4ea"}


def _who(message: Message) -> str:
    if message.role == Message.Role.AGENT:
        return f"{display_name(message.author)} (agent)" if message.author else "Agent (account deleted)"
    if message.role == Message.Role.ASSISTANT:
        return f"Assistant ({message.mode})" if message.mode else "Assistant"
    return str(message.get_role_display())


def _message_html(m: Message) -> SafeString:
    when = m.created_at.strftime("%Y-%m-%d %H:%M:%S")
    if m.role == Message.Role.SYSTEM:
        return format_html(
            '<div class="parley-msg parley-system" style="margin:8px 0;color:#555;font-style:italic">'
            '— {} <span style="font-size:11px">({})</span> —</div>',
            m.text,
            when,
        )
    sources = format_html(" · sources: {}", ", ".join(s.get("title", "") for s in m.sources)) if m.sources else ""
    status = "" if m.status == Message.Status.COMPLETE else f" · {m.status}"
    handoff = _HANDOFF if m.handoff else ""
    return format_html(
        '<div class="parley-msg parley-{}" style="' + _BOX + '"><div style="font-size:11px;color:#555">'
        '#{} {} · {}{}{}</div>{}<div style="white-space:pre-wrap">{}</div></div>{}',
        m.role,
        _ROLE_BACKGROUND.get(m.role, "#f1f3f4"),
        m.seq,
        _who(m),
        when,
        status,
        sources,
        _feedback_line(m),
        m.text,
        handoff,
    )


def _note_html(note: Note) -> SafeString:
    return format_html(
        '<div class="parley-note" style="' + _BOX + ';border:1px dashed #d97706">'
        '<div style="font-size:11px;color:#92400e">Internal note by {} · {} (never shown to the customer)</div>'
        '<div style="white-space:pre-wrap">{}</div></div>',
        "#fffbeb",
        display_name(note.author) if note.author else "a deleted account",
        note.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        note.text,
    )


def transcript_html(conversation: Conversation) -> SafeString:
    """Messages and internal notes in the order they were written, handoffs and system notices
    marked, each agent message with its author's name."""
    messages_: list[Any] = list(conversation.messages.select_related("author").order_by("seq"))
    notes: list[Any] = list(conversation.notes.select_related("author"))
    entries = sorted(chain(messages_, notes), key=lambda e: e.created_at)
    rows = format_html_join(
        "", "{}", ((_message_html(e) if isinstance(e, Message) else _note_html(e),) for e in entries)
    )
    return format_html('<div class="parley-transcript">{}</div>', rows)


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
    fields = (
        "id",
        "status",
        "agent",
        "customer",
        "contact_email",
        "needs_human_since",
        "picked_up_at",
        "rating",
        "rating_comment",
        "origin",
        "created_at",
        "updated_at",
        "transcript",
    )
    readonly_fields = fields  # a transcript is a record: staff act on it through the console
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
        return transcript_html(obj)


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
        text = ngettext("%(count)d answer approved for training.", "%(count)d answers approved for training.", count)
        messages.success(request, text % {"count": count})

    @admin.action(description="Withdraw training approval")
    def unapprove(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = services.messages_approve(message_ids=list(queryset.values_list("pk", flat=True)), approved=False)
        text = ngettext(
            "Training approval withdrawn from %(count)d answer.",
            "Training approval withdrawn from %(count)d answers.",
            count,
        )
        messages.success(request, text % {"count": count})


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin[SavedReply]):
    """Canned responses agents insert from the console's picker and edit before sending."""

    list_display = ("title", "short_text", "updated_at")
    search_fields = ("title", "text")
    fields = ("title", "text")

    @admin.display(description="Text")
    def short_text(self, obj: SavedReply) -> str:
        return obj.text[:100]


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
