"""Signed-in customers: their verified identity, the conversation it starts, and resuming
that customer's open conversation on another device with a token of its own.

An identity is trusted only once its signature checks (conversations/identity.py); a refused
one is logged and never stored, and the caller answers 400 or 403 (the widget then goes on
anonymously).
"""

from __future__ import annotations

import logging
import secrets

from django.conf import settings
from django.db import transaction

from conversations.identity import Identity, IdentityError, identity_verified, parse_identity
from conversations.models import Conversation, ConversationToken, Customer, token_digest
from conversations.services.common import IdentityRefused, InvalidInput
from conversations.services.messages import conversation_create

logger = logging.getLogger(__name__)

# Device tokens kept per conversation: resuming on a further device retires the oldest.
DEVICE_TOKENS_KEPT = 20


def check_identity(value: object, *, address: str = "") -> Identity:
    """The verified identity in a request body, or an error for the caller to answer:
    ``InvalidInput`` (400) when it is malformed, ``IdentityRefused`` (403) when it is
    unsigned, badly signed, or identities are off. Every refusal is logged as a warning
    (the user id and client address, never the name or email)."""
    secret = settings.WIDGET_IDENTITY_SECRET
    if not secret:  # whatever the identity says: none is trusted
        logger.warning("refused a customer identity from %s: identity_disabled", address or "?")
        raise IdentityRefused(
            "identity_disabled", "This site does not accept customer identities (WIDGET_IDENTITY_SECRET)."
        )
    try:
        identity = parse_identity(value)
    except IdentityError as error:
        logger.warning("refused a customer identity from %s: %s", address or "?", error.detail)
        raise InvalidInput("invalid", error.detail) from None
    if not identity.user_hash:
        code, detail = "identity_unsigned", "The identity is not signed: send 'user_hash', the host site's HMAC."
    elif not identity_verified(secret, identity):
        code, detail = "identity_refused", "The identity's 'user_hash' does not match its 'user_id'."
    else:
        return identity
    logger.warning("refused a customer identity from %s: %s (user_id %r)", address or "?", code, identity.user_id)
    raise IdentityRefused(code, detail)


def customer_identify(*, identity: Identity) -> Customer:
    """The customer a verified identity names, created on first sight; the name and email the
    host site passes replace the stored ones (it knows them best), blanks leave them."""
    customer, _ = Customer.objects.get_or_create(user_id=identity.user_id)
    changed = {
        field: value
        for field, value in (("name", identity.name), ("email", identity.email))
        if value and getattr(customer, field) != value
    }
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
        for field, value in changed.items():
            setattr(customer, field, value)
    return customer


def identified_conversation_create(*, identity: Identity, origin: str = "") -> tuple[Conversation, str]:
    """A new conversation of the customer ``identity`` (verified) names, and its token."""
    with transaction.atomic():
        customer = customer_identify(identity=identity)
        return conversation_create(origin=origin, customer=customer)


def conversation_resume(
    *, identity: Identity, origin: str = "", create: bool = True
) -> tuple[Conversation, str, bool] | None:
    """The customer's latest open conversation with a new token for this device, as
    ``(conversation, token, created)``; a new conversation when none is open and ``create``,
    else ``None``.

    Every device keeps its own token (a ``ConversationToken``): the devices that resumed
    before keep working, and the ``DEVICE_TOKENS_KEPT`` newest stay valid.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.filter(customer__user_id=identity.user_id)
            .exclude(status=Conversation.Status.CLOSED)
            .order_by("-updated_at")
            .first()
        )
        if conversation is None and not create:
            return None  # nothing stored: a customer only looking is not recorded
        customer = customer_identify(identity=identity)
        if conversation is None:
            conversation, token = conversation_create(origin=origin, customer=customer)
            return conversation, token, True
        token = secrets.token_urlsafe(32)
        ConversationToken.objects.create(conversation=conversation, token_hash=token_digest(token))
        retired = conversation.tokens.order_by("-created_at").values_list("pk", flat=True)[DEVICE_TOKENS_KEPT:]
        ConversationToken.objects.filter(pk__in=list(retired)).delete()
    return conversation, token, False
