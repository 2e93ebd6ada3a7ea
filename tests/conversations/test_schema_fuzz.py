"""Schemathesis generates requests from the OpenAPI document served at ``/api/schema/`` and
runs its checks on every answer: never a server error, only documented statuses, content
types and headers, bodies that match the documented schema, valid data accepted and invalid
data refused. Customer operations carry the conversation's token, staff operations a staff
session with its CSRF token."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, given, settings

from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "x" * 32  # a CSRF secret as the cookie holds it; the header may send it as is


def staff_session() -> dict[str, str]:
    client = Client()
    client.force_login(User.objects.create_user("sam", password="pw-123456-long", is_staff=True))
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


def test_every_documented_operation_keeps_its_contract() -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    schema.validate()
    conv, token = factories.conversation(status="human")
    customer = {"headers": {"Authorization": f"Bearer {token}"}}
    staff = {"headers": {"X-CSRFToken": CSRF}, "cookies": staff_session()}
    checked = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    # The erasure goes last: the other operations work on the conversation it erases.
    for operation in sorted(operations, key=lambda operation: operation.method.upper() == "DELETE"):
        credentials = staff if operation.path.startswith("/api/staff/") else customer
        fuzz(operation, conversation_id=str(conv.id), credentials=credentials)
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) == 16, checked


def fuzz(operation: Any, *, conversation_id: str, credentials: dict[str, dict[str, str]]) -> None:
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        if "conversation_id" in (case.path_parameters or {}):
            case.path_parameters["conversation_id"] = conversation_id
        case.cookies = {**(case.cookies or {}), **credentials.get("cookies", {})}
        case.call_and_validate(headers=credentials["headers"])

    check()
