"""Startup checks of the support settings (``manage.py check``, which ``make run`` and
``migrate`` run): a typo in SUPPORT_HOURS would otherwise silently tell every customer that
the team is offline, or never."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from conversations import hours

# A shorter identity secret is guessable offline from one signed id.
IDENTITY_SECRET_MIN_CHARS = 16


@register()
def support_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found: list[CheckMessage] = []
    try:
        hours.schedule(settings.SUPPORT_HOURS, settings.SUPPORT_TIMEZONE)
    except ValueError as error:
        found.append(Error(str(error), id="parley.E001"))
    secret = settings.WIDGET_IDENTITY_SECRET
    if secret and len(secret) < IDENTITY_SECRET_MIN_CHARS:
        found.append(
            Warning(
                f"WIDGET_IDENTITY_SECRET is shorter than {IDENTITY_SECRET_MIN_CHARS} characters.",
                hint="Use a long random secret, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`.",
                id="parley.W001",
            )
        )
    return found
