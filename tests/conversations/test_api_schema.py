"""The OpenAPI document at ``/api/schema/`` is generated from the code: valid OpenAPI 3, with
every customer and staff operation, the statuses each can answer (429 where a rate limit
applies) and the contract's error body."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.test import Client

pytestmark = pytest.mark.django_db

CUSTOMER = {
    ("post", "/api/conversations/"),
    ("get", "/api/conversations/{conversation_id}/messages/"),
    ("post", "/api/conversations/{conversation_id}/messages/"),
    ("post", "/api/conversations/{conversation_id}/handoff/"),
    ("post", "/api/conversations/resume/"),
    ("post", "/api/conversations/{conversation_id}/contact/"),
}
STAFF = {
    ("get", "/api/staff/conversations/"),
    ("get", "/api/staff/conversations/{conversation_id}/"),
    ("delete", "/api/staff/conversations/{conversation_id}/"),
    ("get", "/api/staff/conversations/{conversation_id}/export/"),
    ("post", "/api/staff/conversations/{conversation_id}/takeover/"),
    ("post", "/api/staff/conversations/{conversation_id}/handback/"),
    ("post", "/api/staff/conversations/{conversation_id}/messages/"),
    ("post", "/api/staff/conversations/{conversation_id}/notes/"),
    ("post", "/api/staff/conversations/{conversation_id}/suggestions/"),
    ("get", "/api/staff/saved-replies/"),
}


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    response = client.get("/api/schema/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def test_the_schema_is_valid_openapi_3(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI meta-schema


def test_the_schema_lists_every_customer_and_staff_operation(document: dict[str, Any]) -> None:
    assert set(operations(document)) == CUSTOMER | STAFF


def test_rate_limited_operations_document_429_with_retry_after(document: dict[str, Any]) -> None:
    ops = operations(document)
    limited = {
        ("post", "/api/conversations/"),
        ("post", "/api/conversations/{conversation_id}/messages/"),
        ("post", "/api/conversations/resume/"),
        ("post", "/api/conversations/{conversation_id}/contact/"),
    }
    for key in limited:
        assert "Retry-After" in ops[key]["responses"]["429"]["headers"], key
    assert {key for key, op in ops.items() if "429" in op["responses"]} == limited


def test_every_refusal_has_the_error_body(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["ErrorPayload"]
    assert error["required"] == ["error"]
    for key, op in operations(document).items():
        refused = {status: r for status, r in op["responses"].items() if int(status) >= 400}
        assert refused, key
        for response in refused.values():
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorPayload"}


def test_customer_operations_use_the_token_and_staff_ones_the_session(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ConversationToken"] == {"type": "http", "scheme": "bearer"}
    assert schemes["StaffSession"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    ops = operations(document)
    assert "security" not in ops[("post", "/api/conversations/")]
    assert "security" not in ops[("post", "/api/conversations/resume/")]  # the signed identity is the proof
    for key in CUSTOMER - {("post", "/api/conversations/"), ("post", "/api/conversations/resume/")}:
        assert ops[key]["security"] == [{"ConversationToken": []}]
    for key in STAFF:
        assert ops[key]["security"] == [{"StaffSession": []}]
        assert {"401", "403"} <= set(ops[key]["responses"]), key


def test_the_message_limit_in_the_schema_follows_the_setting(client: Client, settings: Any) -> None:
    settings.MESSAGE_MAX_CHARS = 123
    schemas = client.get("/api/schema/").json()["components"]["schemas"]
    assert schemas["CustomerMessage"]["properties"]["text"]["maxLength"] == 123
