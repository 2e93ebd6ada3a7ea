from __future__ import annotations

from generation.facts import FactGate, Support, unsupported_facts

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


def test_gate_streams_word_by_word_and_stops_at_an_unsupported_fact() -> None:
    sent: list[str] = []
    gate = FactGate(SUPPORT, sent.append)
    for text in [
        "Ship",
        "Shipping is",
        "Shipping is $6.95 ",
        "Shipping is $6.95 or $9",
        "Shipping is $6.95 or $9.99 today",
    ]:
        gate.feed(text)
    # Whole words go out once checked; the invented price never does.
    assert "".join(sent) == "Shipping is $6.95 or"
    assert gate.broken
    assert not gate.finish("Shipping is $6.95 or $9.99 today")
    assert "".join(sent) == "Shipping is $6.95 or"


def test_gate_releases_the_rest_on_finish() -> None:
    sent: list[str] = []
    gate = FactGate(SUPPORT, sent.append)
    gate.feed("Stores open 10 am")
    assert gate.finish("Stores open 10 am to 8 pm.")
    assert "".join(sent) == "Stores open 10 am to 8 pm."
