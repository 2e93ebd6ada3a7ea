"""Schemathesis generates requests from the OpenAPI document at ``/api/schema/`` and every
response must keep the contract: never a server error, and only status codes the document lists."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings

from conversations.schema import document
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_documented_operation_keeps_its_contract() -> None:
    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(document())))
    conv, token = factories.conversation(status="human")
    client = Client()
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        fuzz(operation, conv_id=str(conv.id), token=token, client=client)
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) == 6, checked


def fuzz(operation: Any, *, conv_id: str, token: str, client: Client) -> None:
    documented = set(operation.definition.raw.get("responses", {}))

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        path = operation.path.replace("{conversation_id}", conv_id)
        headers = {"Authorization": f"Bearer {token}"} if "{conversation_id}" in operation.path else {}
        no_body = case.body is None or type(case.body).__name__ == "NotSet"
        body = b"" if no_body else json.dumps(case.body).encode()
        response = client.generic(
            case.method.upper(),
            path + ("?" + urlencode(case.query) if case.query else ""),
            data=body,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code != 500, (case.method, path, case.body)  # (503 from /readyz is documented)
        assert str(response.status_code) in documented, (case.method, path, case.body, response.status_code)
        if response["Content-Type"].startswith("application/json"):
            response.json()

    check()
