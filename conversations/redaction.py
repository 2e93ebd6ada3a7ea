"""Personal-data redaction: emails, phone numbers, payment card numbers, IBANs.

Applied to every text before it reaches the model, exports or training data (and to stored
customer messages with ``REDACT_STORED``). Each kind is checked, not just matched: phone
numbers by libphonenumber (``phonenumbers``: a number valid in its country, national formats
read in ``PHONE_REGION``), cards by the Luhn checksum, IBANs by their mod-97 checksum. So
dates, times, prices, ZIP codes, order and product numbers stay as they are. A number right
after "order", "invoice", "tracking"... is a record reference, never a phone number or card:
staff need it to help. ``bench/redaction.py`` measures precision and recall on a labelled set.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import phonenumbers
from django.conf import settings

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
# Not the digits of something IBAN-shaped ("DE89 3704 ..."), whatever its checksum says.
CARD = re.compile(r"(?<![\w.,])(?<![A-Za-z]{2}\d\d )(?:\d[ -]?){12,18}\d(?![\w]|[.,]\d)")
# Digits a customer gives as their number ("call me on 020 7946 0958") that libphonenumber
# cannot place in PHONE_REGION: a national number of another country, or a local one.
PHONE_CUE = re.compile(
    r"\b(?:phone|mobile|cell|tel|telephone|call|ring|text|whatsapp|fax|reach me|contact me)\b[^\d+\n]{0,25}"
    r"(\+?\(?\d[\d ().-]{5,18}\d)",
    re.IGNORECASE,
)
# What makes a number a record reference rather than personal data.
RECORD_CUE = re.compile(
    r"(?:\b(?:order|invoice|inv|ticket|case|ref|reference|tracking|shipment|parcel|confirmation|receipt|"
    r"booking|po|sku|item|product|model|serial|part|rma|batch|lot|ean|upc|isbn|gtin|voucher|coupon|"
    r"gift card)\b\s*(?:number|no\.?|num|nr|id|code)?\s*[:#]?\s*|#\s*)$",
    re.IGNORECASE,
)
PLACEHOLDERS = {"email": "[email]", "iban": "[iban]", "card": "[card]", "phone": "[phone]"}


class Finding(NamedTuple):
    start: int
    end: int
    kind: str  # email | iban | card | phone


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """ISO 13616: the country code and check digits moved to the end, letters as numbers,
    leave 1 modulo 97."""
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _iban_end(candidate: str) -> int:
    """Length of the IBAN that ``candidate`` starts with, or 0: written in groups, the match
    may run on into the next words ("DE89 3704 ... 00 for the refund"), so groups are dropped
    from its end until the checksum holds."""
    while len(candidate) >= 15:
        if iban_ok(candidate):
            return len(candidate)
        if " " not in candidate:
            return 0
        candidate = candidate.rsplit(" ", 1)[0]
    return 0


def _is_record(text: str, start: int) -> bool:
    return bool(RECORD_CUE.search(text[max(0, start - 40) : start]))


def _overlaps(findings: list[Finding], start: int, end: int) -> bool:
    return any(f.start < end and start < f.end for f in findings)


def find_personal_data(text: str, region: str | None = None) -> list[Finding]:
    """Every piece of personal data in ``text``, in order, without overlaps; ``region`` (default
    ``PHONE_REGION``) is where phone numbers written without a country code are read."""
    return list(_find(text, (region or settings.PHONE_REGION).upper()))


@functools.lru_cache(maxsize=4096)
def _find(text: str, region: str) -> tuple[Finding, ...]:
    # A conversation's history is redacted again for each of its replies: cached.
    found: list[Finding] = [Finding(m.start(), m.end(), "email") for m in EMAIL.finditer(text)]
    for m in IBAN.finditer(text):
        end = _iban_end(m.group(0))
        if end and not _overlaps(found, m.start(), m.start() + end):
            found.append(Finding(m.start(), m.start() + end, "iban"))
    for m in CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if (
            13 <= len(digits) <= 19
            and luhn_ok(digits)
            and not _is_record(text, m.start())
            and not _overlaps(found, m.start(), m.end())
        ):
            found.append(Finding(m.start(), m.end(), "card"))
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        if not _is_record(text, match.start) and not _overlaps(found, match.start, match.end):
            found.append(Finding(match.start, match.end, "phone"))
    # Written with a country code ("+1 (555) 010-0123"), a number the right length is a phone
    # number even where the metadata knows no such exchange.
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
        if match.raw_string.startswith("+") and not _overlaps(found, match.start, match.end):
            found.append(Finding(match.start, match.end, "phone"))
    for m in PHONE_CUE.finditer(text):
        start, end = m.span(1)
        digits = sum(ch.isdigit() for ch in m.group(1))
        if digits >= 7 and not _is_record(text, start) and not _overlaps(found, start, end):
            found.append(Finding(start, end, "phone"))
    return tuple(sorted(found))


def redact(text: str, region: str | None = None) -> str:
    """``text`` with each piece of personal data replaced by ``[email]``, ``[phone]``,
    ``[card]`` or ``[iban]``."""
    out, last = [], 0
    for finding in find_personal_data(text, region):
        out.append(text[last : finding.start])
        out.append(PLACEHOLDERS[finding.kind])
        last = finding.end
    out.append(text[last:])
    return "".join(out)
