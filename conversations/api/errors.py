"""How the HTTP API answers what it refuses: always ``{"error": {"code", "detail"}}``.

Views and auth classes raise (``services.InvalidInput``, ``RateLimited``, ``Http404``, and
django-ninja's ``HttpError``s such as ``AuthenticationError``); the handlers ``install``
registers turn each into its status and body. ``responses`` and ``documented`` declare the
same statuses on each operation, so the schema lists every status a request can get.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from conversations import ratelimit, services
from conversations.api.bodies import body_too_long
from conversations.payloads import ErrorPayload, error_payload

# The code an HttpError (raised by django-ninja itself, or by an auth class) gets by status.
_CODES = {400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found", 429: "rate_limited"}

# What each refused status means, for the schema.
_DESCRIPTIONS = {
    400: "Malformed request: `invalid`, or `too_long` (a body over 64 KB, a text over its limit)",
    401: "`unauthorized`: no credentials, or credentials that do not open this resource",
    403: "`forbidden`: logged in but not staff, or a missing CSRF token; `identity_disabled`, "
    "`identity_unsigned`, `identity_refused`: a customer identity that is not trusted",
    404: "`not_found`: no such conversation",
    429: "`rate_limited`: retry after `Retry-After` seconds",
}


def responses(ok: dict[int, Any], *refused: int) -> dict[int, Any]:
    """An operation's ``response=``: its success payloads and the error statuses it can answer."""
    return ok | dict.fromkeys(refused, ErrorPayload)


def documented(*refused: int) -> dict[str, Any]:
    """An operation's ``openapi_extra``: what each error status means (and ``Retry-After`` on 429)."""
    described: dict[int, Any] = {status: {"description": _DESCRIPTIONS[status]} for status in refused}
    if 429 in described:
        described[429]["headers"] = {
            "Retry-After": {"description": "Seconds until the limit resets", "schema": {"type": "integer"}}
        }
    return {"responses": described}


def error_response(api: NinjaAPI, request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    return api.create_response(request, error_payload(code, detail), status=status)


def install(api: NinjaAPI) -> None:
    """Register the handlers that give every refusal the contract's error body."""

    @api.exception_handler(services.InvalidInput)
    def invalid_input(request: HttpRequest, exc: services.InvalidInput) -> HttpResponse:
        return error_response(api, request, 400, exc.code, exc.detail)

    @api.exception_handler(services.IdentityRefused)
    def identity_refused(request: HttpRequest, exc: services.IdentityRefused) -> HttpResponse:
        return error_response(api, request, 403, exc.code, exc.detail)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(api, request, 400, "invalid", _describe(exc.errors))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__  # django-ninja wraps what the body parser raised
        if isinstance(cause, services.InvalidInput):
            return invalid_input(request, cause)
        return error_response(api, request, exc.status_code, _CODES.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        # Past DATA_UPLOAD_MAX_MEMORY_SIZE: Django refuses to read the body at all.
        return invalid_input(request, body_too_long())

    @api.exception_handler(MultiPartParserError)
    def form_unreadable(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        # Django's CSRF check reads a form body before anything else does.
        return error_response(api, request, 400, "invalid", "The body must be a JSON object in UTF-8.")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(api, request, 404, "not_found", str(exc) or "Not found.")

    @api.exception_handler(ratelimit.RateLimited)
    def rate_limited(request: HttpRequest, exc: ratelimit.RateLimited) -> HttpResponse:
        detail = f"Too many requests; retry in {exc.retry_after} seconds."
        response = error_response(api, request, 429, "rate_limited", detail)
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Django answers it (chatsite.middleware turns an unreachable database into a 503),
        # as it would without django-ninja, whatever DEBUG says.
        raise exc


def _describe(errors: list[dict[str, Any]]) -> str:
    """``'client_id': Input should be a valid UUID …`` from django-ninja's validation errors."""
    parts = []
    for error in errors:
        source, *names = [str(part) for part in error.get("loc", ())]
        if source == "body" and len(names) > 1:
            names = names[1:]  # the view's parameter name, not the client's
        field = ".".join(names) or source
        parts.append(f"'{field}': {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "The request is invalid."
