"""Staff HTTP API (session auth + CSRF): take over, hand back, reply, notes, suggestions."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from conversations import dispatch, selectors, services
from conversations.payloads import conversation_summary, message_payload, note_payload

MAX_BODY_BYTES = 64 * 1024


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "detail": detail}}, status=status)


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return _error(401, "unauthorized", "Log in as staff first.")
        if not (user.is_active and user.is_staff):
            return _error(403, "forbidden", "Staff only.")
        return view(request, *args, **kwargs)

    return wrapped


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise services.InvalidInput("too_long", f"The body can be at most {MAX_BODY_BYTES} bytes.")
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise services.InvalidInput("invalid", "The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise services.InvalidInput("invalid", "The body must be a JSON object.")
    return body


def _with_conversation(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, conversation_id: str) -> HttpResponse:
        try:
            conversation = selectors.get_conversation(conversation_id)
        except LookupError:
            return _error(404, "not_found", "No such conversation.")
        try:
            return view(request, conversation)
        except services.InvalidInput as exc:
            return _error(400, exc.code, exc.detail)

    return wrapped


@require_http_methods(["GET"])
@staff_required
def conversation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    return JsonResponse({"conversations": selectors.inbox(status)})


@require_http_methods(["GET", "DELETE"])
@staff_required
@_with_conversation
def conversation_detail(request: HttpRequest, conversation: Any) -> HttpResponse:
    if request.method == "DELETE":  # a data-subject erasure request
        services.conversation_delete(conversation=conversation, actor=request.user.get_username())
        return HttpResponse(status=204)
    return JsonResponse(selectors.conversation_detail(str(conversation.id)))


@require_http_methods(["GET"])
@staff_required
@_with_conversation
def conversation_export(request: HttpRequest, conversation: Any) -> HttpResponse:
    """Everything stored about the conversation, unredacted (a data-subject access request)."""
    data = services.conversation_export(conversation=conversation, actor=request.user.get_username())
    response = JsonResponse(data, json_dumps_params={"indent": 1, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.id}.json"'
    return response


@require_http_methods(["POST"])
@staff_required
@_with_conversation
def takeover(request: HttpRequest, conversation: Any) -> HttpResponse:
    conversation = services.conversation_takeover(conversation=conversation, user=request.user)
    return JsonResponse({"conversation": conversation_summary(conversation)})


@require_http_methods(["POST"])
@staff_required
@_with_conversation
def handback(request: HttpRequest, conversation: Any) -> HttpResponse:
    conversation = services.conversation_handback(conversation=conversation, user=request.user)
    return JsonResponse({"conversation": conversation_summary(conversation)})


@require_http_methods(["POST"])
@staff_required
@_with_conversation
def agent_message(request: HttpRequest, conversation: Any) -> HttpResponse:
    text = services.check_staff_text(_body(request).get("text"))
    message = services.agent_message_create(conversation=conversation, user=request.user, text=text)
    return JsonResponse({"message": message_payload(message)}, status=201)


@require_http_methods(["POST"])
@staff_required
@_with_conversation
def note(request: HttpRequest, conversation: Any) -> HttpResponse:
    text = services.check_staff_text(_body(request).get("text"))
    created = services.note_create(conversation=conversation, user=request.user, text=text)
    return JsonResponse({"note": note_payload(created)}, status=201)


@require_http_methods(["POST"])
@staff_required
@_with_conversation
def suggestions(request: HttpRequest, conversation: Any) -> HttpResponse:
    dispatch.replies_suggest(str(conversation.id))
    return JsonResponse({"status": "queued"}, status=202)
