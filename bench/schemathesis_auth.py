"""Schemathesis hooks for bench/api_fuzz.py (``SCHEMATHESIS_HOOKS=bench.schemathesis_auth``):
customer operations carry the conversation's token, staff operations a staff session and its
CSRF token (cookie and header), as the widget and a browser send them. The values come from
the environment that bench/api_fuzz.py sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import schemathesis


@schemathesis.auth()
class Credentials:
    def get(self, case: Any, ctx: Any) -> Mapping[str, str]:
        return os.environ

    def set(self, case: Any, data: Mapping[str, str], ctx: Any) -> None:
        path = case.operation.path
        if path.startswith("/api/staff/"):
            case.cookies = {**(case.cookies or {}), "sessionid": data["FUZZ_SESSION"], "csrftoken": data["FUZZ_CSRF"]}
            case.headers = {**(case.headers or {}), "X-CSRFToken": data["FUZZ_CSRF"]}
        elif "{conversation_id}" in path:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data['FUZZ_TOKEN']}"}
