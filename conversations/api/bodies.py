"""What the HTTP API accepts as a request body: one JSON object in UTF-8 of at most 64 KB,
and the fields each operation reads from it.

The schemas check types; what a text must be (not blank, not too long, NULs dropped) stays
in ``services.check_*``, which the websocket shares, and the views call them. The limits
those apply are written into the schema too, so generated clients and fuzzers know them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.parser import Parser

from conversations import identity as identities
from conversations import services

MAX_BODY_BYTES = 64 * 1024

# A text needs one character that is neither whitespace nor NUL (both are trimmed away), in
# Python's sense of whitespace, which also strips the separators U+001C-U+001F and U+0085.
_NOT_BLANK = r"[^\s\x00\x1c-\x1f\x85]"


def body_too_long() -> services.InvalidInput:
    return services.InvalidInput("too_long", f"The body can be at most {MAX_BODY_BYTES} bytes.")


class JsonObjectParser(Parser):
    """Raises ``services.InvalidInput`` (django-ninja answers it as ``HttpError`` 400, its cause
    the ``InvalidInput``; conversations/api/errors.py keeps the code)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if len(request.body) > MAX_BODY_BYTES:
            raise body_too_long()
        try:
            body = json.loads(request.body.decode("utf-8"))
            # A lone surrogate ("\ud800") parses but can be neither stored nor sent on.
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except (ValueError, UnicodeError):
            raise services.InvalidInput("invalid", "The body must be a JSON object in UTF-8.") from None
        if not isinstance(body, dict):
            raise services.InvalidInput("invalid", "The body must be a JSON object in UTF-8.")
        return body


def _customer_text_limits(schema: dict[str, Any]) -> None:
    schema.update(pattern=_NOT_BLANK, maxLength=settings.MESSAGE_MAX_CHARS)  # read when the schema is served


class Identity(Schema):
    """A signed-in customer, as the host site passes them to the widget (docs/deployment.md)."""

    user_id: str = Field(
        description="The host site's id of the customer, exactly as it signed it.",
        json_schema_extra={"minLength": 1, "maxLength": identities.USER_ID_MAX_CHARS},
    )
    name: str = Field("", json_schema_extra={"maxLength": identities.NAME_MAX_CHARS})
    email: str = Field("", json_schema_extra={"format": "email", "maxLength": identities.EMAIL_MAX_CHARS})
    user_hash: str = Field(
        "",
        description="hex(HMAC-SHA256(WIDGET_IDENTITY_SECRET, user_id)), computed on the host site's server.",
        json_schema_extra={"pattern": "^[0-9a-fA-F]{64}$"},
    )


class ConversationStart(Schema):
    origin: str = Field("", description="The page the widget runs on (its first 300 characters are kept).")
    identity: Identity | None = Field(
        None,
        description="The signed-in customer (optional). Refused with 403 unless signed with WIDGET_IDENTITY_SECRET; "
        "the widget then starts an anonymous conversation.",
    )


class ConversationResume(Schema):
    identity: Identity
    origin: str = Field("", description="The page the widget runs on (its first 300 characters are kept).")
    create: bool = Field(True, description="Start a conversation when the customer has none open (else 404).")


class ContactEmail(Schema):
    email: str = Field(
        description="Where the customer wants the answer.",
        json_schema_extra={"format": "email", "maxLength": identities.EMAIL_MAX_CHARS},
    )


class CustomerMessage(Schema):
    text: str = Field(
        description="What the customer wrote; surrounding whitespace is trimmed, and at most "
        "MESSAGE_MAX_CHARS characters remain.",
        json_schema_extra=_customer_text_limits,
    )
    client_id: uuid.UUID = Field(description="Chosen by the client; resending it never stores a second message.")


class StaffText(Schema):
    text: str = Field(
        description="Surrounding whitespace is trimmed.",
        json_schema_extra={"pattern": _NOT_BLANK, "maxLength": services.STAFF_TEXT_MAX_CHARS},
    )
