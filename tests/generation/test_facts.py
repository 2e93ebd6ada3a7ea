from __future__ import annotations

from generation.answering.facts import Support, unsupported_facts

SUPPORT = Support(
    "Shipping costs $6.95 below $75. Call 1-800-555-0142 or write to help@shop.example. "
    "Our carrier is Parcelway. Stores open 10 am to 8 pm."
)


def test_supported_facts_pass() -> None:
    text = "Shipping is $6.95 on orders below $75, and Parcelway delivers. Call 1-800-555-0142."
    assert unsupported_facts(text, SUPPORT) == []


def test_invented_numbers_emails_and_names_are_caught() -> None:
    text = "Shipping is $5.95. Write to sales@shop.example or ask Jennifer at the Denver store."
    assert unsupported_facts(text, SUPPORT) == ["sales@shop.example", "5.95", "Jennifer", "Denver"]


def test_sentence_initial_words_and_thousands_separators_are_not_facts() -> None:
    support = Support("Orders up to $1,500 qualify.")
    assert unsupported_facts("Great question! Orders up to $1500 qualify. Sure.", support) == []
