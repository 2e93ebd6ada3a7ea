"""Known customers: identities the host site signs, refused unless the signature checks;
their conversations follow them across devices; their personal data in exports and erasures."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from conversations import services
from conversations.identity import Identity, IdentityError, identity_hash, identity_verified, parse_identity
from conversations.models import AuditLog, Conversation, ConversationToken, Customer

SECRET = "test-identity-secret-0123456789"


def signed(user_id: str = "cust-42", secret: str = SECRET, **fields: Any) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "user_hash": identity_hash(secret, user_id),
        **fields,
    }


def post(client: Client, path: str, body: dict[str, Any], token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


@pytest.fixture
def identities_on(settings: Any) -> None:
    settings.WIDGET_IDENTITY_SECRET = SECRET


# --- the HMAC check -------------------------------------------------------------------------
def test_identity_hash_is_the_hex_hmac_sha256_a_host_site_computes() -> None:
    # What the Python and Node snippets of docs/deployment.md print for this secret and id.
    assert identity_hash("secret", "42") == "93c121e7aa437a1e01e3c512c6f0ce3c821a839025dca4408f85616de4aaee70"


def test_only_the_right_secret_and_user_id_verify() -> None:
    good = Identity("cust-42", "", "", identity_hash(SECRET, "cust-42"))
    assert identity_verified(SECRET, good)
    assert identity_verified(SECRET, Identity("cust-42", "", "", good.user_hash.upper()))
    assert not identity_verified("another-secret-entirely", good)
    assert not identity_verified(SECRET, Identity("cust-43", "", "", good.user_hash))
    assert not identity_verified(SECRET, Identity("cust-42", "", "", ""))
    assert not identity_verified("", good)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("cust-42", "identity"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": " 42"}, "user_id"),
        ({"user_id": "x" * 201}, "user_id"),
        ({"user_id": "42", "name": "n" * 201}, "name"),
        ({"user_id": "42", "email": "not-an-email"}, "identity.email"),
        ({"user_id": "42", "user_hash": "abc"}, "user_hash"),
        ({"user_id": "42", "role": "admin"}, "identity"),
    ],
)
def test_malformed_identities_are_refused_naming_the_field(value: object, field: str) -> None:
    with pytest.raises(IdentityError) as refused:
        parse_identity(value)
    assert refused.value.field == field


def test_a_numeric_user_id_is_read_as_the_decimal_text_the_host_signed() -> None:
    assert parse_identity({"user_id": 42, "user_hash": identity_hash(SECRET, "42")}).user_id == "42"


# --- starting a conversation as a known customer ---------------------------------------------------
@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_a_signed_identity_starts_a_conversation_staff_see_with_the_customers_name(client: Client) -> None:
    response = post(client, "/api/conversations/", {"identity": signed()})
    assert response.status_code == 201
    conversation = Conversation.objects.get(pk=response.json()["id"])
    assert conversation.customer is not None
    assert (conversation.customer.user_id, conversation.customer.name) == ("cust-42", "Ada Lovelace")

    staff = User.objects.create_user("sam", password="pw-123456-long", is_staff=True)
    client.force_login(staff)
    detail = client.get(f"/api/staff/conversations/{conversation.pk}/").json()
    assert detail["conversation"]["customer"] == {
        "user_id": "cust-42",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
    }
    inbox = client.get("/api/staff/conversations/").json()["conversations"]
    assert inbox[0]["customer"]["name"] == "Ada Lovelace"


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
@pytest.mark.parametrize(
    ("identity", "code"),
    [
        (signed(user_hash=identity_hash("a-different-secret", "cust-42")), "identity_refused"),
        (signed(user_id="cust-43", user_hash=identity_hash(SECRET, "cust-42")), "identity_refused"),
        ({"user_id": "cust-42", "name": "Ada"}, "identity_unsigned"),
    ],
)
def test_badly_signed_or_unsigned_identities_get_403_are_logged_and_never_stored(
    client: Client, caplog: pytest.LogCaptureFixture, identity: dict[str, Any], code: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="conversations.services.customers"):
        response = post(client, "/api/conversations/", {"identity": identity})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == code
    assert not Conversation.objects.exists() and not Customer.objects.exists()
    assert any("refused a customer identity" in r.getMessage() and code in r.getMessage() for r in caplog.records)
    assert not any("Ada" in r.getMessage() for r in caplog.records)  # the name stays out of the logs


@pytest.mark.django_db
def test_identities_are_refused_while_the_secret_is_unset(client: Client, settings: Any) -> None:
    settings.WIDGET_IDENTITY_SECRET = ""
    response = post(client, "/api/conversations/", {"identity": signed(secret="")})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "identity_disabled"
    assert not Customer.objects.exists()
    # Anonymous conversations still start: the widget falls back to one.
    assert post(client, "/api/conversations/", {}).status_code == 201


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_a_malformed_identity_gets_400_naming_what_is_wrong(client: Client) -> None:
    response = post(client, "/api/conversations/", {"identity": signed(email="ada at example")})
    assert response.status_code == 400
    assert "email" in response.json()["error"]["detail"]
    assert not Customer.objects.exists()


# --- across devices ------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_a_customer_resumes_their_conversation_on_another_device_and_both_keep_working(client: Client) -> None:
    laptop = post(client, "/api/conversations/", {"identity": signed()}).json()
    sent = post(
        client,
        f"/api/conversations/{laptop['id']}/messages/",
        {"text": "My tent pole snapped", "client_id": "6f1c1c8e-8f5e-4d8e-9b7a-3c2e1f0a9b8c"},
        laptop["token"],
    )
    assert sent.status_code == 202

    phone = post(client, "/api/conversations/resume/", {"identity": signed()})
    assert phone.status_code == 200
    body = phone.json()
    assert body["id"] == laptop["id"] and body["created"] is False
    assert body["token"] != laptop["token"]
    for token in (laptop["token"], body["token"]):
        listed = client.get(
            f"/api/conversations/{laptop['id']}/messages/", headers={"Authorization": f"Bearer {token}"}
        )
        assert listed.status_code == 200
        assert listed.json()["messages"][0]["text"] == "My tent pole snapped"


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_resume_starts_a_conversation_only_when_asked(client: Client) -> None:
    looked = post(client, "/api/conversations/resume/", {"identity": signed(), "create": False})
    assert looked.status_code == 404
    assert not Customer.objects.exists()  # a customer only looking is not recorded
    started = post(client, "/api/conversations/resume/", {"identity": signed()})
    assert started.status_code == 201 and started.json()["created"] is True
    Conversation.objects.filter(pk=started.json()["id"]).update(status=Conversation.Status.CLOSED)
    assert post(client, "/api/conversations/resume/", {"identity": signed(), "create": False}).status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_resume_never_opens_another_customers_conversation(client: Client) -> None:
    post(client, "/api/conversations/", {"identity": signed("cust-1")})
    forged = signed("cust-1", user_hash=identity_hash(SECRET, "cust-2"))
    assert post(client, "/api/conversations/resume/", {"identity": forged}).status_code == 403
    assert post(client, "/api/conversations/resume/", {"identity": {"user_id": "cust-1"}}).status_code == 403
    assert ConversationToken.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_a_device_token_opens_only_its_own_conversation(client: Client) -> None:
    mine = post(client, "/api/conversations/", {"identity": signed("cust-1")}).json()
    other = post(client, "/api/conversations/", {"identity": signed("cust-2")}).json()
    device = post(client, "/api/conversations/resume/", {"identity": signed("cust-1")}).json()
    assert device["id"] == mine["id"]
    wrong = client.get(
        f"/api/conversations/{other['id']}/messages/", headers={"Authorization": f"Bearer {device['token']}"}
    )
    assert wrong.status_code == 401


# --- personal data ----------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_export_carries_the_customer_and_erasing_their_last_conversation_erases_them(client: Client) -> None:
    first = post(client, "/api/conversations/", {"identity": signed()}).json()
    second = post(client, "/api/conversations/", {"identity": signed()}).json()
    staff = User.objects.create_user("sam", password="pw-123456-long", is_staff=True)
    client.force_login(staff)
    exported = client.get(f"/api/staff/conversations/{first['id']}/export/").json()
    assert exported["conversation"]["customer"]["email"] == "ada@example.com"

    assert client.delete(f"/api/staff/conversations/{first['id']}/").status_code == 204
    assert Customer.objects.filter(user_id="cust-42").exists()  # still named by the second conversation
    assert client.delete(f"/api/staff/conversations/{second['id']}/").status_code == 204
    assert not Customer.objects.exists()
    assert AuditLog.objects.filter(action=AuditLog.Action.DELETE).count() == 2


@pytest.mark.django_db
@pytest.mark.usefixtures("identities_on")
def test_the_retention_purge_takes_the_customers_of_the_conversations_it_deletes(client: Client) -> None:
    old = post(client, "/api/conversations/", {"identity": signed("old-customer")}).json()
    post(client, "/api/conversations/", {"identity": signed("recent-customer")})
    Conversation.objects.filter(pk=old["id"]).update(updated_at=timezone.now() - timedelta(days=400))
    assert services.conversations_purge(older_than_days=365, actor="system") == 1
    assert list(Customer.objects.values_list("user_id", flat=True)) == ["recent-customer"]
