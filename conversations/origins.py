"""Which browser origins may use the widget: ALLOWED_HOSTS plus WIDGET_ALLOWED_ORIGINS."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host


def origin_allowed(origin: str, request_host: str | None = None) -> bool:
    if origin in settings.WIDGET_ALLOWED_ORIGINS or "*" in settings.WIDGET_ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if request_host is not None and parts.netloc == request_host:
        return True  # same origin
    domain, _port = split_domain_port(parts.netloc)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


class WebsocketOriginValidator:
    """Refuse websockets opened by pages of other sites (cross-site websocket hijacking).

    Browsers always send ``Origin``; a client without one is not a browser and still needs
    the conversation's token.
    """

    def __init__(self, application: object) -> None:
        self.application = application

    async def __call__(self, scope: dict, receive: object, send: object) -> object:  # type: ignore[type-arg]
        if scope["type"] == "websocket":
            headers = dict(scope.get("headers", []))
            origin = headers.get(b"origin")
            if origin is not None and not origin_allowed(origin.decode("latin-1")):
                denier = WebsocketDenier()
                return await denier(scope, receive, send)  # type: ignore[arg-type]
        return await self.application(scope, receive, send)  # type: ignore[operator]
