"""Staff console, API, exports, ops and metrics: who may see what, and the live takeover."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from chatsite.asgi import application
from conversations.models import AuditLog, Conversation, Message, Note
from generation import heartbeat
from tests import factories


def make_user(username: str, *, staff: bool) -> User:
    return User.objects.create_user(username, password="pw-123456-long", is_staff=staff)


@pytest.fixture
def staff_client(db: None) -> Client:
    client = Client()
    client.force_login(make_user("sam", staff=True))
    return client


STAFF_GETS = ["/console/", "/ops/", "/api/staff/conversations/"]


@pytest.mark.django_db
def test_strangers_and_customers_get_nothing_from_staff_pages(client: Client) -> None:
    conv, _ = factories.conversation()
    for url in STAFF_GETS:
        response = client.get(url)
        assert response.status_code in (302, 401), url
        assert b"Conversation" not in response.content or response.status_code == 302
    assert client.post(f"/api/staff/conversations/{conv.id}/takeover/").status_code in (401, 403)
    client.force_login(make_user("cathy", staff=False))
    for url in STAFF_GETS:
        assert client.get(url).status_code in (302, 403), url
    assert (
        client.post(
            f"/api/staff/conversations/{conv.id}/messages/", data="{}", content_type="application/json"
        ).status_code
        == 403
    )
    export = client.post(
        "/admin/conversations/conversation/", {"action": "export_csv", "_selected_action": [str(conv.id)]}
    )
    assert export.status_code == 302 and "login" in export["Location"]
    conv.refresh_from_db()
    assert conv.status == Conversation.Status.BOT


@pytest.mark.django_db
def test_staff_api_needs_the_csrf_token() -> None:
    conv, _ = factories.conversation()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("sam", staff=True))
    assert client.post(f"/api/staff/conversations/{conv.id}/takeover/").status_code == 403
    client.get("/console/")
    token = client.cookies["csrftoken"].value
    assert (
        client.post(f"/api/staff/conversations/{conv.id}/takeover/", headers={"X-CSRFToken": token}).status_code == 200
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", ["nope", "[]", json.dumps({"text": ""}), json.dumps({"text": 5}), json.dumps({"text": "x" * 8001})]
)
def test_staff_bodies_are_validated(staff_client: Client, body: str) -> None:
    conv, _ = factories.conversation()
    response = staff_client.post(
        f"/api/staff/conversations/{conv.id}/messages/", data=body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] in ("invalid", "too_long")
    assert not Message.objects.filter(role="agent").exists()
    assert staff_client.post(f"/api/staff/conversations/{uuid.uuid4()}/takeover/").status_code == 404


@pytest.mark.django_db
def test_an_unreadable_form_body_gets_a_clear_400() -> None:
    conv, _ = factories.conversation()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("sam", staff=True))
    client.get("/console/")
    response = client.post(
        f"/api/staff/conversations/{conv.id}/takeover/",
        data=b"--",
        content_type="multipart/form-data",  # without a boundary: the CSRF check cannot read it
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def session_cookie(client: Client) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def receive(communicator: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await communicator.receive_from(timeout=timeout))
    return frame


async def receive_type(communicator: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    while True:
        frame = await receive(communicator, timeout)
        if frame["type"] == kind:
            return frame


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_takeover_silences_the_bot_and_the_agent_reaches_the_customer_live() -> None:
    staff = Client()
    await database_sync_to_async(
        lambda: staff.force_login(User.objects.create_user("sam", first_name="Sam", is_staff=True))
    )()
    conv, token = await database_sync_to_async(factories.conversation)()
    customer = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    assert (await customer.connect())[0]
    console = WebsocketCommunicator(application, "/ws/staff/", headers=session_cookie(staff))
    assert (await console.connect())[0]
    assert (await receive(console))["type"] == "inbox"
    await console.send_to(text_data=json.dumps({"type": "watch", "conversation_id": str(conv.id)}))
    assert (await receive_type(console, "conversation"))["conversation"]["id"] == str(conv.id)

    taken = await database_sync_to_async(staff.post)(f"/api/staff/conversations/{conv.id}/takeover/")
    assert taken.status_code == 200 and taken.json()["conversation"]["status"] == "human"
    update = await receive_type(console, "inbox.update")
    assert update["conversation"]["status"] == "human" and update["conversation"]["agent"] == "sam"
    joined = await receive(customer)
    assert joined["message"]["role"] == "system" and joined["message"]["text"] == "Sam joined the conversation."

    await customer.send_to(
        text_data=json.dumps({"type": "message", "text": "Is anyone there?", "client_id": str(uuid.uuid4())})
    )
    ack = await receive(customer)
    assert ack["type"] == "ack" and "reply_id" not in ack  # the bot stays silent
    seen = await receive_type(console, "message")
    assert seen["message"]["text"] == "Is anyone there?" and seen["message"]["role"] == "customer"

    sent = await database_sync_to_async(staff.post)(
        f"/api/staff/conversations/{conv.id}/messages/",
        data=json.dumps({"text": "Hi, Sam here."}),
        content_type="application/json",
    )
    assert sent.status_code == 201
    live = await receive(customer)
    assert (
        live["type"] == "message" and live["message"]["role"] == "agent" and live["message"]["text"] == "Hi, Sam here."
    )

    await database_sync_to_async(staff.post)(
        f"/api/staff/conversations/{conv.id}/notes/",
        data=json.dumps({"text": "VIP customer"}),
        content_type="application/json",
    )
    note = await receive_type(console, "note")
    assert note["note"]["text"] == "VIP customer"
    assert await customer.receive_nothing(timeout=0.5)  # notes never reach the customer

    roles = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation=conv).order_by("seq").values_list("role", flat=True))
    )()
    assert roles == ["system", "customer", "agent"]
    back = await database_sync_to_async(staff.post)(f"/api/staff/conversations/{conv.id}/handback/")
    assert back.json()["conversation"]["status"] == "bot"
    await customer.disconnect()
    await console.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_staff_socket_refuses_non_staff() -> None:
    client = Client()
    await database_sync_to_async(lambda: client.force_login(make_user("cathy", staff=False)))()
    console = WebsocketCommunicator(application, "/ws/staff/", headers=session_cookie(client))
    await console.connect()
    assert (await console.receive_output(timeout=5))["code"] == 4403
    stranger = WebsocketCommunicator(application, "/ws/staff/")
    await stranger.connect()
    assert (await stranger.receive_output(timeout=5))["code"] == 4403


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_customers_rate_replies_and_conversations() -> None:
    conv, token = await database_sync_to_async(factories.conversation)()
    reply = await database_sync_to_async(Message.objects.create)(conversation=conv, seq=1, role="assistant", text="Hi")
    customer = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    await customer.connect()
    await customer.send_to(text_data=json.dumps({"type": "feedback", "message_id": str(reply.id), "value": -1}))
    await customer.send_to(text_data=json.dumps({"type": "feedback", "message_id": str(reply.id), "value": 7}))
    assert (await receive(customer))["code"] == "invalid"
    await customer.send_to(text_data=json.dumps({"type": "rate", "stars": 4, "comment": "quick"}))
    await customer.send_to(text_data=json.dumps({"type": "rate", "stars": 9}))
    assert (await receive(customer))["code"] == "invalid"
    await customer.disconnect()
    await database_sync_to_async(reply.refresh_from_db)()
    await database_sync_to_async(conv.refresh_from_db)()
    assert reply.feedback == -1 and conv.rating == 4 and conv.rating_comment == "quick"


@pytest.mark.django_db
def test_csv_export_is_safe_to_open_in_a_spreadsheet(staff_client: Client) -> None:
    User.objects.filter(username="sam").update(is_superuser=True)
    conv, _ = factories.conversation(status="human")
    factories.customer_message(conv, '=HYPERLINK("http://evil.example","click")')
    factories.customer_message(conv, "+SUM(A1:A3) <script>alert(1)</script>")
    factories.customer_message(conv, "write me at jane.doe@mail.example or +1 (555) 010-0123")
    response = staff_client.post(
        "/admin/conversations/conversation/", {"action": "export_csv", "_selected_action": [str(conv.id)]}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    texts = [r["text"] for r in csv.DictReader(io.StringIO(response.content.decode()))]
    assert texts == [
        '\'=HYPERLINK("http://evil.example","click")',
        "'+SUM(A1:A3) <script>alert(1)</script>",
        "write me at [email] or [phone]",  # personal data never leaves in an export
    ]
    exported = staff_client.post(
        "/admin/conversations/conversation/", {"action": "export_json", "_selected_action": [str(conv.id)]}
    )
    assert json.loads(exported.content)[0]["messages"][0]["text"].startswith("=HYPERLINK")


@pytest.mark.django_db
def test_admin_bulk_exports_and_deletes_are_audited(staff_client: Client) -> None:
    User.objects.filter(username="sam").update(is_superuser=True)
    first, _ = factories.conversation(status="human")
    second, _ = factories.conversation(status="human")
    selected = {"_selected_action": [str(first.id), str(second.id)]}
    for action in ("export_csv", "export_json"):
        assert (
            staff_client.post("/admin/conversations/conversation/", {"action": action, **selected}).status_code == 200
        )
    exports = AuditLog.objects.filter(action="export").order_by("detail")
    assert [(a.actor, a.detail) for a in exports] == [
        ("sam", "admin CSV export of 2 conversations, personal data redacted")
    ] * 2 + [("sam", "admin JSON export of 2 conversations, personal data redacted")] * 2
    assert {a.conversation_id for a in exports} == {first.id, second.id}
    # Erasures in the admin, one and several, are audited too.
    response = staff_client.post(
        "/admin/conversations/conversation/", {"action": "delete_selected", "post": "yes", **selected}
    )
    assert response.status_code == 302 and not Conversation.objects.exists()
    deletes = AuditLog.objects.filter(action="delete")
    assert {(a.actor, a.conversation_id, a.detail) for a in deletes} == {
        ("sam", first.id, "admin bulk delete"),
        ("sam", second.id, "admin bulk delete"),
    }
    third, _ = factories.conversation(status="human")
    response = staff_client.post(f"/admin/conversations/conversation/{third.id}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Conversation.objects.exists()
    assert AuditLog.objects.filter(action="delete", conversation_id=third.id, detail="admin").exists()


@pytest.mark.django_db
def test_transcripts_show_customer_text_as_text(staff_client: Client) -> None:
    User.objects.filter(username="sam").update(is_superuser=True)
    conv, _ = factories.conversation(status="human")
    factories.customer_message(conv, "<img src=x onerror=alert(1)>")
    html = staff_client.get(f"/admin/conversations/conversation/{conv.id}/change/").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html


@pytest.mark.django_db
def test_ops_page_shows_the_last_hour(staff_client: Client) -> None:
    conv, _ = factories.conversation()
    factories.bot_reply(
        conv, 1, completion_tokens=30, first_token_ms=120, first_delta_ms=175, generation_ms=600, attempts=2
    )
    html = staff_client.get("/ops/").content.decode()
    assert "Queue depth" in html and "120" in html and "<svg" in html
    assert "First text to the customer" in html and "175" in html
    assert "Failures / retries" in html and "0 / 1" in html


@pytest.mark.django_db
def test_ops_page_and_metrics_show_each_workers_draft_acceptance(staff_client: Client) -> None:
    name = f"draft-test-{uuid.uuid4().hex[:6]}"
    beat = {"concurrency": 4, "active": 2, "waiting": 0, "model": "m", "model_loaded": True}
    heartbeat.beat_write(name, {**beat, "draft_tokens": 400, "draft_accepted": 300})
    try:
        html = staff_client.get("/ops/").content.decode()
        row = html[html.index(name) :].split("</tr>")[0]
        assert "75% of 400" in row
        body = Client().get("/metrics").content.decode()
        assert f'parley_worker_draft_tokens_total{{worker="{name}"}} 400.0' in body
        assert f'parley_worker_draft_tokens_accepted_total{{worker="{name}"}} 300.0' in body
    finally:
        heartbeat.beat_delete(name)


@pytest.mark.django_db
def test_notes_are_stored_apart_from_messages(staff_client: Client) -> None:
    conv, token = factories.conversation()
    staff_client.post(
        f"/api/staff/conversations/{conv.id}/notes/",
        data=json.dumps({"text": "secret"}),
        content_type="application/json",
    )
    assert Note.objects.get().text == "secret"
    customer_view = Client().get(
        f"/api/conversations/{conv.id}/messages/", headers={"Authorization": f"Bearer {token}"}
    )
    assert "secret" not in customer_view.content.decode()
