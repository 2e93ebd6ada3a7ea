"""Customer REST API (bearer-token auth, JSON). The contract is in docs/protocol.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from conversations import ratelimit, services
from conversations.models import Conversation
from conversations.origins import origin_allowed
from conversations.payloads import ConversationCreated, message_payload

MAX_BODY_BYTES = 64 * 1024


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "detail": detail}}, status=status)


def _cors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let the widget call the API from sites in WIDGET_ALLOWED_ORIGINS (no cookies involved)."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS":
            response: HttpResponse = HttpResponse(status=204)
        else:
            response = view(request, *args, **kwargs)
        if origin and origin_allowed(origin, request.get_host()):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response

    wrapped.__name__ = view.__name__
    return csrf_exempt(wrapped)


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY_BYTES:
        raise services.InvalidInput("too_long", f"The body can be at most {MAX_BODY_BYTES} bytes.")
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise services.InvalidInput("invalid", "The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise services.InvalidInput("invalid", "The body must be a JSON object.")
    return body


def _authenticate(request: HttpRequest, conversation_id: str) -> Conversation | JsonResponse:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
    try:
        return services.conversation_authenticate(conversation_id=conversation_id, token=token.strip())
    except services.ConversationNotFound:
        return _error(404, "not_found", "No such conversation.")
    except services.TokenInvalid:
        return _error(401, "unauthorized", "The token does not open this conversation.")


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def _too_many(exc: ratelimit.RateLimited) -> JsonResponse:
    response = _error(429, "rate_limited", f"Too many requests; retry in {exc.retry_after} seconds.")
    response["Retry-After"] = str(exc.retry_after)
    return response


def ws_url(request: HttpRequest, conversation_id: str, token: str) -> str:
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/conversations/{conversation_id}/?token={token}"


@_cors
def conversations_collection(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.")
    try:
        body = _json_body(request)
    except services.InvalidInput as exc:
        return _error(400, exc.code, exc.detail)
    origin = body.get("origin", "")
    if not isinstance(origin, str):
        return _error(400, "invalid", "'origin' must be a string.")
    try:
        ratelimit.hit("address_conversations", _address(request))
    except ratelimit.RateLimited as exc:
        return _too_many(exc)
    conversation, token = services.conversation_create(origin=origin)
    payload: ConversationCreated = {
        "id": str(conversation.id),
        "token": token,
        "ws_url": ws_url(request, str(conversation.id), token),
    }
    return JsonResponse(payload, status=201)


@_cors
def conversation_messages(request: HttpRequest, conversation_id: str) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return _error(405, "method_not_allowed", "Use GET or POST.")
    conversation = _authenticate(request, conversation_id)
    if isinstance(conversation, JsonResponse):
        return conversation
    try:
        if request.method == "GET":
            raw_after = request.GET.get("after", "0")
            if not raw_after.isdigit():
                raise services.InvalidInput("invalid", "'after' must be a whole number.")
            messages = services.messages_after(conversation=conversation, after=int(raw_after))
            return JsonResponse({"messages": [message_payload(m) for m in messages]})
        body = _json_body(request)
        text = services.check_customer_text(body.get("text"))
        client_id = services.check_client_id(body.get("client_id"))
    except services.InvalidInput as exc:
        return _error(400, exc.code, exc.detail)
    try:  # a resend is answered as before, without counting it again
        result = services.customer_message_receive(
            conversation=conversation, text=text, client_id=client_id, address=_address(request)
        )
    except ratelimit.RateLimited as exc:
        return _too_many(exc)
    return JsonResponse({"message": message_payload(result.message)}, status=202)
