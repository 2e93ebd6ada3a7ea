"""Staff endpoints (Django session of a staff user, CSRF token on writes): the inbox, a
conversation's transcript, take over, hand back, reply, notes, suggestions, and the
data-subject requests (export, erase)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.errors import AuthenticationError, AuthorizationError
from ninja.security import SessionAuth

from conversations import dispatch, selectors, services
from conversations.api.bodies import StaffText
from conversations.api.errors import documented, responses
from conversations.models import Conversation
from conversations.payloads import (
    ConversationDetail,
    ConversationExport,
    ConversationResponse,
    InboxResponse,
    MessageResponse,
    NoteResponse,
    QueuedResponse,
    SavedRepliesResponse,
    UuidStr,
    conversation_summary,
    message_payload,
    note_payload,
)


class StaffSession(SessionAuth):
    """The Django session of an active staff user (log in at /admin/). Writes also need the
    session's CSRF token in the ``X-CSRFToken`` header (django-ninja checks it first)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated:
            raise AuthenticationError(message="Log in as staff first.")
        if not (user.is_active and user.is_staff):
            raise AuthorizationError(message="Staff only.")
        return user


router = Router(tags=["staff"], auth=StaffSession())
# Mounted at /api/staff/saved-replies/.
saved_replies_router = Router(tags=["staff"], auth=StaffSession())


def found(conversation_id: str) -> Conversation:
    try:
        return selectors.get_conversation(conversation_id)
    except LookupError:
        raise Http404("No such conversation.") from None


def actor(request: HttpRequest) -> str:
    return request.user.get_username()


@router.get(
    "/",
    response=responses({200: InboxResponse}, 400, 401, 403),
    openapi_extra=documented(400, 401, 403),
    summary="The inbox: open conversations, those that need a human first, then the most recent",
    description="`assigned`: `mine` (you took them over), `unassigned` (nobody has) or `all`.",
)
def inbox(
    request: HttpRequest,
    status: Conversation.Status | None = None,
    assigned: Literal["all", "mine", "unassigned"] = "all",
) -> InboxResponse:
    return {"conversations": selectors.inbox(status, assigned=assigned, user=request.user)}


@router.get(
    "/{conversation_id}/",
    response=responses({200: ConversationDetail}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="A conversation: its summary, messages and notes",
)
def conversation_detail(request: HttpRequest, conversation_id: UuidStr) -> ConversationDetail:
    return selectors.conversation_detail(str(found(conversation_id).id))


@router.delete(
    "/{conversation_id}/",
    response=responses({204: None}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="Erase a conversation and everything in it (a data-subject request; audited)",
)
def conversation_delete(request: HttpRequest, conversation_id: UuidStr) -> Status[None]:
    services.conversation_delete(conversation=found(conversation_id), actor=actor(request))
    return Status(204, None)


@router.get(
    "/{conversation_id}/export/",
    response=responses({200: ConversationExport}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="Everything stored about a conversation, unredacted (a data-subject request; audited)",
)
def conversation_export(request: HttpRequest, conversation_id: UuidStr, response: HttpResponse) -> ConversationExport:
    conversation = found(conversation_id)
    data = services.conversation_export(conversation=conversation, actor=actor(request))
    response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.id}.json"'
    return data


@router.post(
    "/{conversation_id}/takeover/",
    response=responses({200: ConversationResponse}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="A person takes the conversation: the bot stops answering",
)
def takeover(request: HttpRequest, conversation_id: UuidStr) -> ConversationResponse:
    conversation = services.conversation_takeover(conversation=found(conversation_id), user=request.user)
    return {"conversation": conversation_summary(conversation)}


@router.post(
    "/{conversation_id}/handback/",
    response=responses({200: ConversationResponse}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="Give the conversation back to the bot",
)
def handback(request: HttpRequest, conversation_id: UuidStr) -> ConversationResponse:
    conversation = services.conversation_handback(conversation=found(conversation_id), user=request.user)
    return {"conversation": conversation_summary(conversation)}


@router.post(
    "/{conversation_id}/messages/",
    response=responses({201: MessageResponse}, 400, 401, 403, 404),
    openapi_extra=documented(400, 401, 403, 404),
    summary="Reply as an agent (takes the conversation over); the customer gets it live",
)
def agent_message(request: HttpRequest, conversation_id: UuidStr, body: StaffText) -> Status[MessageResponse]:
    conversation = found(conversation_id)
    text = services.check_staff_text(body.text)
    message = services.agent_message_create(conversation=conversation, user=request.user, text=text)
    return Status(201, {"message": message_payload(message)})


@router.post(
    "/{conversation_id}/notes/",
    response=responses({201: NoteResponse}, 400, 401, 403, 404),
    openapi_extra=documented(400, 401, 403, 404),
    summary="An internal note (never sent to the customer)",
)
def note(request: HttpRequest, conversation_id: UuidStr, body: StaffText) -> Status[NoteResponse]:
    conversation = found(conversation_id)
    text = services.check_staff_text(body.text)
    created = services.note_create(conversation=conversation, user=request.user, text=text)
    return Status(201, {"note": note_payload(created)})


@router.post(
    "/{conversation_id}/suggestions/",
    response=responses({202: QueuedResponse}, 401, 403, 404),
    openapi_extra=documented(401, 403, 404),
    summary="Ask the bot for candidate replies; they arrive on the staff socket",
)
def suggestions(request: HttpRequest, conversation_id: UuidStr) -> Status[QueuedResponse]:
    dispatch.replies_suggest(str(found(conversation_id).id))
    return Status(202, {"status": "queued"})


@saved_replies_router.get(
    "/",
    response=responses({200: SavedRepliesResponse}, 400, 401, 403),
    openapi_extra=documented(400, 401, 403),
    summary="Saved replies (canned responses), by title; `q` searches titles and texts",
)
def saved_replies(request: HttpRequest, q: str = "") -> SavedRepliesResponse:
    return {"saved_replies": selectors.saved_replies(q[:200])}
