"""Customer endpoints: start a conversation (anonymous, or as a signed-in customer whose
identity the host site signed), resume a signed-in customer's conversation on another device,
then read and send its messages, and leave a contact email, with the conversation's bearer
token. The widget calls them from the sites in WIDGET_ALLOWED_ORIGINS
(CORS, no cookies involved). The contract is in docs/protocol.md."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import Query, Router, Status
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from conversations import ratelimit, services
from conversations.api.bodies import ContactEmail, ConversationResume, ConversationStart, CustomerMessage
from conversations.api.errors import documented, responses
from conversations.models import Conversation
from conversations.origins import origin_allowed
from conversations.payloads import (
    ConversationCreated,
    ConversationResumed,
    HandoffResponse,
    MessageResponse,
    MessagesResponse,
    UuidStr,
    message_payload,
)

# The largest seq a message can have (a PositiveIntegerField).
MAX_SEQ = 2_147_483_647
# ``POST /api/conversations/`` needs no body.
NO_BODY = ConversationStart(origin="", identity=None)


def widget_cors(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let the widget's pages read every answer, errors included."""

    @wraps(run)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = run(request, *args, **kwargs)
        origin = request.headers.get("Origin")
        if origin and origin_allowed(origin, request.get_host()):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response

    return wrapped


class ConversationToken(HttpBearer):
    """The token ``POST /api/conversations/`` returned, which opens that one conversation:
    ``request.auth`` is the Conversation named by the path's ``conversation_id``."""

    def __call__(self, request: HttpRequest) -> Conversation:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError(message="Send 'Authorization: Bearer <token>'.")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Conversation:
        assert request.resolver_match is not None  # an operation is reached only through its URL
        conversation_id = str(request.resolver_match.kwargs["conversation_id"])
        try:
            return services.conversation_authenticate(conversation_id=conversation_id, token=token)
        except services.ConversationNotFound:
            raise Http404("No such conversation.") from None
        except services.TokenInvalid:
            raise AuthenticationError(message="The token does not open this conversation.") from None


router = Router(tags=["customer"])
router.add_decorator(widget_cors, mode="view")  # around the whole operation: auth and validation too


@router.api_operation(["OPTIONS"], "/", include_in_schema=False)
def conversations_preflight(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


@router.api_operation(["OPTIONS"], "/{conversation_id}/messages/", include_in_schema=False)
def messages_preflight(request: HttpRequest, conversation_id: str) -> HttpResponse:
    return HttpResponse(status=204)


@router.api_operation(["OPTIONS"], "/{conversation_id}/handoff/", include_in_schema=False)
def handoff_preflight(request: HttpRequest, conversation_id: str) -> HttpResponse:
    return HttpResponse(status=204)


@router.api_operation(["OPTIONS"], "/resume/", include_in_schema=False)
def resume_preflight(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


@router.api_operation(["OPTIONS"], "/{conversation_id}/contact/", include_in_schema=False)
def contact_preflight(request: HttpRequest, conversation_id: str) -> HttpResponse:
    return HttpResponse(status=204)


def authenticated(request: HttpRequest) -> Conversation:
    conversation: Conversation = request.auth  # type: ignore[attr-defined]  # set by ConversationToken
    return conversation


def address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def ws_url(request: HttpRequest, conversation_id: str, token: str) -> str:
    scheme = "wss" if request.is_secure() else "ws"
    return f"{scheme}://{request.get_host()}/ws/conversations/{conversation_id}/?token={token}"


@router.post(
    "/",
    response=responses({201: ConversationCreated}, 400, 403, 429),
    openapi_extra=documented(400, 403, 429),
    summary="Start a conversation",
    description="Keep the token: it is shown once. Limited per client address (RATE_LIMIT_CONVERSATIONS_PER_ADDRESS). "
    "With an `identity`, the conversation is the signed-in customer's; an identity that is not signed with "
    "WIDGET_IDENTITY_SECRET is refused (403) and nothing is started.",
)
def conversation_start(request: HttpRequest, body: ConversationStart = NO_BODY) -> Status[ConversationCreated]:
    ratelimit.hit("address_conversations", address(request))
    if body.identity is None:
        conversation, token = services.conversation_create(origin=body.origin)
    else:
        identity = services.check_identity(body.identity.model_dump(), address=address(request))
        conversation, token = services.identified_conversation_create(identity=identity, origin=body.origin)
    conversation_id = str(conversation.id)
    return Status(201, {"id": conversation_id, "token": token, "ws_url": ws_url(request, conversation_id, token)})


@router.post(
    "/resume/",
    response=responses({200: ConversationResumed, 201: ConversationResumed}, 400, 403, 404, 429),
    openapi_extra=documented(400, 403, 404, 429),
    summary="A signed-in customer's open conversation, on this device",
    description="The customer's latest open conversation with a new token for this device (200; the other "
    "devices' tokens keep working), or a new conversation when none is open (201; 404 with `create: false`). "
    "Limited like starting a conversation.",
)
def conversation_resume(request: HttpRequest, body: ConversationResume) -> Status[ConversationResumed]:
    ratelimit.hit("address_conversations", address(request))
    identity = services.check_identity(body.identity.model_dump(), address=address(request))
    resumed = services.conversation_resume(identity=identity, origin=body.origin, create=body.create)
    if resumed is None:
        raise Http404("This customer has no open conversation.")
    conversation, token, created = resumed
    conversation_id = str(conversation.id)
    return Status(
        201 if created else 200,
        {"id": conversation_id, "token": token, "ws_url": ws_url(request, conversation_id, token), "created": created},
    )


@router.get(
    "/{conversation_id}/messages/",
    auth=ConversationToken(),
    response=responses({200: MessagesResponse}, 400, 401, 404),
    openapi_extra=documented(400, 401, 404),
    summary="Messages after a seq, in seq order",
)
def messages_list(
    request: HttpRequest,
    conversation_id: UuidStr,
    after: int = Query(0, ge=0, le=MAX_SEQ, description="The last seq the client has"),
) -> MessagesResponse:
    messages = services.messages_after(conversation=authenticated(request), after=after)
    return {"messages": [message_payload(m) for m in messages]}


@router.post(
    "/{conversation_id}/messages/",
    auth=ConversationToken(),
    response=responses({202: MessageResponse}, 400, 401, 404, 429),
    openapi_extra=documented(400, 401, 404, 429),
    summary="Send a customer message (idempotent on client_id)",
    description="The reply arrives on the websocket or by polling. Limited per conversation and per client "
    "address (RATE_LIMIT_MESSAGES_PER_CONVERSATION, RATE_LIMIT_MESSAGES_PER_ADDRESS); a resend is not counted.",
)
def message_send(request: HttpRequest, conversation_id: UuidStr, body: CustomerMessage) -> Status[MessageResponse]:
    text = services.check_customer_text(body.text)
    result = services.customer_message_receive(
        conversation=authenticated(request),
        text=text,
        client_id=body.client_id,
        address=address(request),
    )
    return Status(202, {"message": message_payload(result.message)})


@router.post(
    "/{conversation_id}/handoff/",
    auth=ConversationToken(),
    response=responses({200: HandoffResponse}, 401, 404),
    openapi_extra=documented(401, 404),
    summary="Ask for a person (idempotent)",
    description="The conversation waits for a person (needs_human), the customer gets a system notice and the "
    "staff inbox is told; asking again, or once a person has it, changes nothing.",
)
def handoff_request(request: HttpRequest, conversation_id: UuidStr) -> HandoffResponse:
    conversation = services.conversation_handoff_request(conversation=authenticated(request))
    return {"status": conversation.status}


@router.post(
    "/{conversation_id}/contact/",
    auth=ConversationToken(),
    response=responses({201: MessageResponse}, 400, 401, 404, 429),
    openapi_extra=documented(400, 401, 404, 429),
    summary="Leave an email for the answer (when the team is offline)",
    description="Stored on the conversation and shown to staff; the confirmation is a system message, "
    "returned here and sent on the websocket. Limited like messages.",
)
def contact_leave(request: HttpRequest, conversation_id: UuidStr, body: ContactEmail) -> Status[MessageResponse]:
    conversation = authenticated(request)
    email = services.check_contact_email(body.email)
    ratelimit.check_message(conversation_id=str(conversation.id), address=address(request))
    notice = services.conversation_contact_set(conversation=conversation, email=email)
    return Status(201, {"message": message_payload(notice)})
