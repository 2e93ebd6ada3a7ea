"""Rate limits, redaction, retention and data-subject requests."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.utils import timezone

from chatsite.asgi import application
from conversations import services
from conversations.models import AuditLog, Conversation, Message
from conversations.redaction import find_personal_data, luhn_ok, redact
from tests import factories


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at jane.doe+x@mail.example.com", "mail me at [email]"),
        ("call +1 (555) 010-0123 today", "call [phone] today"),
        ("card 4111 1111 1111 1111 exp 12/29", "card [card] exp 12/29"),
        ("not a card 4111 1111 1111 1112", "not a card 4111 1111 1111 1112"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
        ("not an IBAN DE89 3704 0044 0532 0130 01", "not an IBAN DE89 3704 0044 0532 0130 01"),
        ("order 55123 ships in 3 to 5 days for $6.95", "order 55123 ships in 3 to 5 days for $6.95"),
        # Dates, times and order numbers that the old digit-run pattern took for phone numbers.
        ("I ordered on 2024-01-15", "I ordered on 2024-01-15"),
        ("order 1234567890", "order 1234567890"),
        ("from 2024-01-15 10:30", "from 2024-01-15 10:30"),
        ("order 2125550187 is late, call me on 212-555-0187", "order 2125550187 is late, call me on [phone]"),
        ("ring +44 20 7946 0958 or +49 30 901820", "ring [phone] or [phone]"),
    ],
)
def test_personal_data_is_redacted_and_ordinary_numbers_are_not(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_phone_numbers_without_a_country_code_are_read_in_phone_region(settings: Any) -> None:
    assert redact("020 7946 0958 is best") == "020 7946 0958 is best"  # not a US number
    settings.PHONE_REGION = "GB"
    assert redact("020 7946 0958 is best") == "[phone] is best"


def test_the_labelled_redaction_set_meets_its_targets() -> None:
    """The figures bench/redaction.py prints, held as a floor (precision 0.98, recall 0.95)."""
    items = json.loads((Path(__file__).resolve().parents[2] / "bench/data/redaction_labelled.json").read_text())
    predicted = right = labelled = found = 0
    for item in items:
        gold = [(item["text"].index(p["text"]), p["kind"], p["text"]) for p in item["pii"]]
        findings = find_personal_data(item["text"], item.get("region", "US"))
        predicted += len(findings)
        right += sum(any(f.kind == k and f.start < s + len(t) and s < f.end for s, k, t in gold) for f in findings)
        labelled += len(gold)
        found += sum(any(f.kind == k and f.start <= s and s + len(t) <= f.end for f in findings) for s, k, t in gold)
    assert len(items) >= 200
    assert right / predicted >= 0.98 and found / labelled >= 0.95


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


@pytest.mark.django_db
def test_redact_stored_keeps_no_original(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    conv, _ = factories.conversation(status="human")
    settings.REDACT_STORED = False
    with django_capture_on_commit_callbacks(execute=False):
        kept = factories.customer_message(conv, "I am jane@mail.example")
    settings.REDACT_STORED = True
    with django_capture_on_commit_callbacks(execute=False):
        redacted = factories.customer_message(conv, "I am jane@mail.example")
    assert kept.message.text == "I am jane@mail.example"
    assert redacted.message.text == "I am [email]"
    assert Message.objects.filter(text__contains="jane@").count() == 1


@pytest.mark.django_db
def test_personal_data_never_reaches_the_model_prompt(django_capture_on_commit_callbacks: Any) -> None:
    from generation.replying import history_for  # noqa: PLC0415 - the worker side (torch) loads for this test alone

    conv, _ = factories.conversation()
    with django_capture_on_commit_callbacks(execute=False):
        reply = factories.customer_message(conv, "my card is 4111 1111 1111 1111, email jane@mail.example").reply
    assert reply is not None
    history, raw = history_for(reply)
    assert [t.text for t in history] == ["my card is [card], email [email]"]
    assert raw == "my card is 4111 1111 1111 1111, email jane@mail.example"  # for the policy's record check only


@pytest.mark.django_db(transaction=True)
def test_http_rate_limits_answer_429_with_retry_after_and_store_nothing(settings: Any) -> None:
    settings.RATE_LIMIT_CONVERSATIONS_PER_ADDRESS = 2
    settings.RATE_LIMIT_MESSAGES_PER_CONVERSATION = 2
    client = Client(REMOTE_ADDR=f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    created = [client.post("/api/conversations/", data="{}", content_type="application/json") for _ in range(3)]
    assert [r.status_code for r in created] == [201, 201, 429]
    assert int(created[2]["Retry-After"]) > 0 and created[2].json()["error"]["code"] == "rate_limited"
    conv = created[0].json()
    url = f"/api/conversations/{conv['id']}/messages/"
    headers = {"Authorization": f"Bearer {conv['token']}"}
    bodies = [json.dumps({"text": f"hi {i}", "client_id": str(uuid.uuid4())}) for i in range(3)]
    sent = [client.post(url, data=b, content_type="application/json", headers=headers) for b in bodies]
    assert [r.status_code for r in sent] == [202, 202, 429]
    # A resend of a stored message is answered as before, never limited.
    assert client.post(url, data=bodies[0], content_type="application/json", headers=headers).status_code == 202
    assert Message.objects.filter(role="customer", conversation_id=conv["id"]).count() == 2


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_websocket_rate_limit_sends_rate_limited_and_keeps_the_socket(settings: Any) -> None:
    settings.RATE_LIMIT_MESSAGES_PER_CONVERSATION = 1
    conv, token = await database_sync_to_async(factories.conversation)(status="human")
    communicator = WebsocketCommunicator(application, f"/ws/conversations/{conv.id}/?token={token}")
    await communicator.connect()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    await communicator.send_to(text_data=json.dumps({"type": "message", "text": "one", "client_id": first}))
    assert json.loads(await communicator.receive_from())["type"] == "ack"
    await communicator.send_to(text_data=json.dumps({"type": "message", "text": "two", "client_id": second}))
    refused = json.loads(await communicator.receive_from())
    assert refused["code"] == "rate_limited" and refused["client_id"] == second and refused["retry_after"] > 0
    await communicator.send_to(text_data=json.dumps({"type": "resume", "after": 0}))
    assert json.loads(await communicator.receive_from())["message"]["text"] == "one"
    await communicator.disconnect()


@pytest.mark.django_db
def test_purge_deletes_only_old_conversations_and_is_audited() -> None:
    old, _ = factories.conversation(status="human")
    factories.customer_message(old, "old news")
    fresh, _ = factories.conversation(status="human")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    call_command("purge_conversations", "--older-than", "30")
    assert list(Conversation.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not Message.objects.filter(text="old news").exists()
    assert AuditLog.objects.get().action == "purge"


@pytest.mark.django_db(transaction=True)
def test_overlapping_purges_skip_what_the_other_holds_and_audit_what_they_deleted() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks: SQLite runs one writer at a time")
    old, _ = factories.conversation(status="human")
    Conversation.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=40))
    held, release = threading.Event(), threading.Event()

    def other_purge() -> None:
        # Another purge's transaction, holding the expired row while this one runs.
        try:
            with transaction.atomic():
                list(Conversation.objects.filter(pk=old.pk).select_for_update())
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_purge)
    thread.start()
    assert held.wait(10)
    try:
        assert services.conversations_purge(older_than_days=30, actor="system") == 0
        assert not AuditLog.objects.exists()
    finally:
        release.set()
        thread.join()
    assert services.conversations_purge(older_than_days=30, actor="system") == 1
    assert AuditLog.objects.get().detail == "1 conversation idle over 30 days"


def test_purge_refuses_a_bad_argument() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_conversations", "--older-than", "0")


@pytest.mark.django_db
def test_data_subject_export_and_delete_are_staff_only_and_audited() -> None:
    conv, _ = factories.conversation(status="human")
    factories.customer_message(conv, "my email is jane@mail.example")
    stranger = Client()
    assert stranger.get(f"/api/staff/conversations/{conv.id}/export/").status_code == 401
    staff = Client()
    staff.force_login(User.objects.create_user("sam", password="pw-123456-long", is_staff=True))
    export = staff.get(f"/api/staff/conversations/{conv.id}/export/")
    assert export.status_code == 200
    assert export.json()["messages"][0]["text"] == "my email is jane@mail.example"  # the subject's own data, whole
    assert staff.delete(f"/api/staff/conversations/{conv.id}/").status_code == 204
    assert not Conversation.objects.filter(pk=conv.pk).exists() and not Message.objects.exists()
    assert list(AuditLog.objects.order_by("created_at").values_list("action", "actor")) == [
        ("export", "sam"),
        ("delete", "sam"),
    ]


@pytest.mark.django_db
def test_a_database_outage_gives_a_clear_503_and_readyz_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    conv, token = factories.conversation()
    client = Client(raise_request_exception=False)

    def down(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused (test)")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", down)
    response = client.post(
        f"/api/conversations/{conv.id}/messages/",
        data=json.dumps({"text": "hello", "client_id": str(uuid.uuid4())}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"
    assert response["Retry-After"] == "5"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("error: OperationalError")
    monkeypatch.undo()
    assert not Message.objects.exists()  # nothing half-written
