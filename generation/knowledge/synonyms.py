"""Customers' words for what the articles call otherwise: "pushchair" where the help centre
says "stroller", "hand luggage" where it says "cabin bag", "zip code" for "postcode".

A customer writes in their own variety of English and register; a help centre in its house
style. The embedding knows many such pairs, keyword evidence none of them, and a word the
articles never use reads as something the help centre has nothing about ("I couldn't find
anything about pushchair"). So each group below holds words and phrases that mean the same in
a customer's message to a help desk, and a member the articles never use is read as the
member they use most. A member the articles use is left as written: they may use two for two
things.

Only pairs that mean the same wherever a customer writes them are here: not "flat"
(apartment, or a flat fee), "check" (a cheque, or to check), "lift" (an elevator, or a ride),
"holiday" (a vacation, or a bank holiday), "package" (a parcel, or a TV package), "delivery"
(shipping, or the delivery of a lost bag), "guarantee" (a warranty, or the Direct Debit
Guarantee).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GROUPS: tuple[tuple[str, ...], ...] = (
    # Travel.
    ("stroller", "pushchair", "buggy", "pram"),
    (
        "cabin bag",
        "hand luggage",
        "carry-on",
        "carryon",
        *(f"{carry} {bag}" for carry in ("carry on", "carry-on") for bag in ("bag", "luggage", "suitcase", "case")),
    ),
    ("checked bag", "checked luggage", "hold luggage", "hold bag"),
    ("luggage", "baggage"),
    ("booking", "reservation"),
    ("car hire", "car rental", "rental car", "hire car"),
    ("car park", "parking lot"),
    ("taxi", "cab"),
    ("aeroplane", "airplane"),
    ("cot", "crib"),
    ("nappy", "diaper"),
    ("toilet", "restroom", "lavatory", "loo"),
    ("driving licence", "driving license", "driver's license", "drivers license"),
    ("motorbike", "motorcycle"),
    ("bike", "bicycle"),
    # Post and shopping.
    ("zip code", "postcode", "postal code", "post code"),
    ("shipping", "postage"),
    ("trainers", "sneakers"),
    ("jumper", "sweater"),
    ("torch", "flashlight"),
    ("fridge", "refrigerator"),
    ("tv", "television", "telly"),
    ("rubbish", "garbage", "trash"),
    ("petrol", "gasoline"),
    ("tyre", "tire"),
    ("promo code", "discount code", "voucher code", "coupon code", "coupon", "promo"),
    ("gift card", "gift voucher", "gift certificate"),
    # Accounts, phones and payments.
    ("sign in", "log in", "login", "log on", "signin"),
    ("sign up", "signup"),
    ("username", "user name"),
    ("mobile phone", "cell phone", "cellphone"),
    ("mobile data", "cellular data"),
    ("top up", "top-up", "recharge"),
    ("pay as you go", "payg", "prepaid", "prepay"),
    ("customer service", "customer services", "customer support", "customer care"),
    ("annual", "yearly"),
    ("refund", "money back"),
)
_PLURAL = r"(s|es)?"  # kept as written: "hold bags" -> "checked bags"


class Synonyms:
    """The articles' word for each member of ``GROUPS`` they never use (``texts``: the
    articles' text)."""

    def __init__(self, texts: Iterable[str]) -> None:
        text = " ".join(texts).lower()
        self.words: dict[str, str] = {}
        self.phrases: list[tuple[re.Pattern[str], str]] = []
        for group in GROUPS:
            counts = {m: len(re.findall(rf"(?<![\w-]){re.escape(m)}{_PLURAL}(?![\w-])", text)) for m in group}
            used = max(group, key=lambda m: counts[m])
            if not counts[used]:
                continue
            for member in group:
                if counts[member]:
                    continue
                if " " in member or "-" in member:
                    pattern = re.compile(rf"(?<![\w-]){re.escape(member)}{_PLURAL}(?![\w-])", re.IGNORECASE)
                    self.phrases.append((pattern, used))
                else:
                    self.words[member] = used
        # The longest first: "carry-on suitcase" before "carry-on".
        self.phrases.sort(key=lambda phrase: -len(phrase[0].pattern))

    def word(self, lower: str) -> str | None:
        """The articles' word for ``lower`` (a plural for a plural), or ``None``."""
        if lower in self.words:
            return self.words[lower]
        for ending in ("s", "es"):
            stem = lower[: -len(ending)]
            if lower.endswith(ending) and stem in self.words:
                return self.words[stem] + "s"
        return None

    def rewrite(self, text: str) -> str:
        """``text`` with each phrase of a group the articles never use in their words."""
        for pattern, used in self.phrases:
            text = pattern.sub(rf"{used}\1", text)
        return text
