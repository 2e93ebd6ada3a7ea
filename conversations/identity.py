"""Identity verification of signed-in customers (as Intercom and Chatwoot offer it).

The host site knows who is signed in; the widget does not, and anything the widget sends can
be forged. So the host site signs its customer's id on its server with a secret it shares
with Parley (``WIDGET_IDENTITY_SECRET``): ``user_hash = hex(HMAC-SHA256(secret, user_id))``.
Parley trusts an identity only when the hash it computes matches, compared in constant time.
How a host site signs: docs/deployment.md.

Pure functions: no database, no settings; the service (conversations/services/customers.py)
passes the secret in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

USER_ID_MAX_CHARS = 200
NAME_MAX_CHARS = 200
EMAIL_MAX_CHARS = 254
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class IdentityError(ValueError):
    """An identity that is not well formed: ``field`` names what is wrong, for the 400."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class Identity:
    """A well-formed identity as the widget passed it; not yet verified."""

    user_id: str
    name: str
    email: str
    user_hash: str  # empty: the host site did not sign it


def identity_hash(secret: str, user_id: str) -> str:
    """What the host site computes: the hex HMAC-SHA256 of ``user_id`` under ``secret``."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def identity_verified(secret: str, identity: Identity) -> bool:
    """Whether ``identity`` carries the signature of ``secret``; never true without a secret
    or without a hash."""
    if not secret or not identity.user_hash:
        return False
    return hmac.compare_digest(identity_hash(secret, identity.user_id), identity.user_hash.lower())


def check_email(value: object, *, field: str = "email") -> str:
    """An email address (trimmed), or ``IdentityError``; empty stays empty."""
    if not isinstance(value, str):
        raise IdentityError(field, f"'{field}' must be a string.")
    email = value.strip()
    if not email:
        return ""
    if len(email) > EMAIL_MAX_CHARS:
        raise IdentityError(field, f"'{field}' can be at most {EMAIL_MAX_CHARS} characters long.")
    try:
        validate_email(email)
    except ValidationError:
        raise IdentityError(field, f"'{field}' must be an email address, like name@example.com.") from None
    return email


def parse_identity(value: object) -> Identity:
    """The identity object the widget sends, ``{"user_id", "name"?, "email"?, "user_hash"}``,
    checked for shape (types, lengths, email format) but not for its signature."""
    if not isinstance(value, dict):
        raise IdentityError("identity", "'identity' must be an object with 'user_id' and 'user_hash'.")
    unknown = sorted(set(value) - {"user_id", "name", "email", "user_hash"})
    if unknown:
        raise IdentityError("identity", f"'identity' has unknown fields: {', '.join(unknown)}.")
    user_id = value.get("user_id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)  # host sites often number their users; they sign the decimal text
    if not isinstance(user_id, str) or not user_id or user_id != user_id.strip() or "\x00" in user_id:
        raise IdentityError("user_id", "'identity.user_id' must be a non-empty string without surrounding spaces.")
    if len(user_id) > USER_ID_MAX_CHARS:
        raise IdentityError("user_id", f"'identity.user_id' can be at most {USER_ID_MAX_CHARS} characters long.")
    name = value.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str) or len(name.strip()) > NAME_MAX_CHARS:
        raise IdentityError("name", f"'identity.name' must be a string of at most {NAME_MAX_CHARS} characters.")
    email = value.get("email", "")
    email = check_email("" if email is None else email, field="identity.email")
    user_hash = value.get("user_hash", "")
    if user_hash is None:
        user_hash = ""
    if not isinstance(user_hash, str) or (user_hash and not _HEX_SHA256.fullmatch(user_hash)):
        raise IdentityError("user_hash", "'identity.user_hash' must be the 64 hex digits of an HMAC-SHA256.")
    return Identity(user_id=user_id, name=name.replace("\x00", "").strip(), email=email, user_hash=user_hash)
