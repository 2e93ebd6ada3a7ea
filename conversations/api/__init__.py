"""The HTTP API (django-ninja), mounted at ``/api/``: the customer endpoints
(conversations/api/customer.py) and the staff endpoints (conversations/api/staff.py).

Its OpenAPI document, served at ``/api/schema/``, is generated from the operations, their
bodies (conversations/api/bodies.py), their responses (the ``TypedDict``s of
conversations/payloads.py) and the refusals each can answer (conversations/api/errors.py).
"""

from __future__ import annotations

from ninja import NinjaAPI

from conversations.api import customer, errors, staff
from conversations.api.bodies import JsonObjectParser

api = NinjaAPI(
    title="Parley API",
    version="1.0.0",
    description=(
        "Customers: `POST /api/conversations/` returns a token; send it as `Authorization: Bearer <token>` "
        "to that conversation's endpoints. Staff: the Django session of a staff user (log in at `/admin/`), "
        "and on writes its CSRF token in the `X-CSRFToken` header. Every error is "
        '`{"error": {"code", "detail"}}`. Replies stream on the websocket (docs/protocol.md).'
    ),
    openapi_url="/schema/",
    docs_url=None,
    urls_namespace="api",
    parser=JsonObjectParser(),
)
errors.install(api)
api.add_router("/conversations/", customer.router)
api.add_router("/staff/conversations/", staff.router)
api.add_router("/staff/saved-replies/", staff.saved_replies_router)
