from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client

from conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def create(client: Client) -> dict[str, Any]:
    response = client.post("/api/conversations/", data="{}", content_type="application/json")
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_returns_id_token_and_websocket_url(client: Client) -> None:
    body = create(client)
    assert set(body) == {"id", "token", "ws_url"}
    assert body["ws_url"] == f"ws://testserver/ws/conversations/{body['id']}/?token={body['token']}"
    assert Conversation.objects.filter(pk=body["id"]).exists()


def test_post_message_is_stored_and_idempotent(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    conv = create(client)
    url = f"/api/conversations/{conv['id']}/messages/"
    payload = json.dumps({"text": "Where is my order?", "client_id": str(uuid.uuid4())})
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(url, data=payload, content_type="application/json", headers=auth(conv["token"]))
        again = client.post(url, data=payload, content_type="application/json", headers=auth(conv["token"]))
    assert first.status_code == 202 and again.status_code == 202
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    message = first.json()["message"]
    assert message["role"] == "customer" and message["seq"] == 1 and message["text"] == "Where is my order?"
    assert set(message) == {
        "id",
        "seq",
        "role",
        "text",
        "status",
        "created_at",
        "sources",
        "grounded",
        "handoff",
        "mode",
        "author_name",
    }
    listed = client.get(url + "?after=0", headers=auth(conv["token"])).json()["messages"]
    assert [(m["seq"], m["role"], m["status"]) for m in listed] == [
        (1, "customer", "complete"),
        (2, "assistant", "pending"),
    ]
    assert client.get(url + "?after=1", headers=auth(conv["token"])).json()["messages"][0]["seq"] == 2


def test_wrong_or_missing_token_gets_401_and_unknown_conversation_404(client: Client) -> None:
    conv = create(client)
    other = create(client)
    url = f"/api/conversations/{conv['id']}/messages/"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=auth(other["token"])).status_code == 401
    assert client.get(url, headers={"Authorization": f"Basic {conv['token']}"}).status_code == 401
    assert client.get(f"/api/conversations/{uuid.uuid4()}/messages/", headers=auth(conv["token"])).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "invalid"),
        ("[1, 2]", "invalid"),
        (json.dumps({"text": "hi"}), "invalid"),
        (json.dumps({"text": "hi", "client_id": "nope"}), "invalid"),
        (json.dumps({"text": "", "client_id": str(uuid.uuid4())}), "invalid"),
        (json.dumps({"text": ["hi"], "client_id": str(uuid.uuid4())}), "invalid"),
        (json.dumps({"text": "x" * 4001, "client_id": str(uuid.uuid4())}), "too_long"),
        ("{" + " " * 70000 + "}", "too_long"),
        ("{" + " " * 3_000_000 + "}", "too_long"),  # past Django's DATA_UPLOAD_MAX_MEMORY_SIZE too
        ('{"text": "\\ud800", "client_id": "' + str(uuid.uuid4()) + '"}', "invalid"),  # a lone surrogate
        (b'{"text": "\xff", "client_id": "' + str(uuid.uuid4()).encode() + b'"}', "invalid"),  # not UTF-8
    ],
)
def test_bad_bodies_get_400_with_a_code_and_store_nothing(client: Client, body: str | bytes, code: str) -> None:
    conv = create(client)
    response = client.post(
        f"/api/conversations/{conv['id']}/messages/",
        data=body,
        content_type="application/json",
        headers=auth(conv["token"]),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert Message.objects.count() == 0


def test_bad_after_is_refused(client: Client) -> None:
    conv = create(client)
    response = client.get(f"/api/conversations/{conv['id']}/messages/?after=-1", headers=auth(conv["token"]))
    assert response.status_code == 400


def test_schema_documents_the_contract(client: Client) -> None:
    schema = client.get("/api/schema/").json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert {"post"} <= set(paths["/api/conversations/"])
    assert {"get", "post"} <= set(paths["/api/conversations/{conversation_id}/messages/"])
    message = schema["components"]["schemas"]["MessagePayload"]
    assert set(message["required"]) == {
        "id",
        "seq",
        "role",
        "text",
        "status",
        "created_at",
        "sources",
        "grounded",
        "handoff",
        "mode",
        "author_name",
    }


def test_healthz_answers(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_says_which_part_is_missing(client: Client) -> None:
    response = client.get("/readyz")
    checks = response.json()["checks"]
    assert checks["database"] == "ok" and checks["redis"] == "ok"
    # No worker runs in this test unless the session started one.
    assert response.status_code == (200 if isinstance(checks["workers"], list) else 503)


def test_cors_allows_only_configured_widget_origins(client: Client, settings: Any) -> None:
    settings.WIDGET_ALLOWED_ORIGINS = ["https://shop.example"]
    allowed = client.options("/api/conversations/", headers={"Origin": "https://shop.example"})
    assert allowed.status_code == 204 and allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = client.post(
        "/api/conversations/",
        data="{}",
        content_type="application/json",
        headers={"Origin": "https://evil.example"},
    )
    assert "Access-Control-Allow-Origin" not in refused


def test_demo_page_embeds_the_widget_with_one_script_tag(client: Client) -> None:
    html = client.get("/").content.decode()
    assert html.count("<script") == 1
    assert 'src="http://testserver/static/widget/widget.js"' in html
    assert 'data-server="http://testserver"' in html
