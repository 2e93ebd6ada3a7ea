"""Clear errors when a backing service is down, instead of a 500 page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from conversations.payloads import error_payload

logger = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    """Database unreachable: JSON ``503`` with ``Retry-After`` for API calls.

    Every write is one transaction, so a request that fails here has written nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        logger.error("database unavailable for %s: %s", request.path, exception)
        response = JsonResponse(
            error_payload("unavailable", "The service is briefly unavailable; please retry."), status=503
        )
        response["Retry-After"] = "5"
        return response
