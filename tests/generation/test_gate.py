"""Text is verified sentence by sentence before a customer sees it."""

from __future__ import annotations

import pytest

from generation.answering.facts import Support
from generation.answering.gate import Grounded, Restating, SentenceGate, is_yes_no_question, says_no

UNITS = [
    "Refunds reach your card within 5 business days.",
    "Sale items cannot be returned.",
    "Express delivery costs $19.95.",
]


def stream_through(gate: SentenceGate, text: str) -> None:
    """Feed ``text`` as a model streams it: a few characters at a time."""
    for end in range(3, len(text), 3):
        gate.feed(text[:end])
    gate.finish(text)


def test_restated_sentences_pass_one_at_a_time_and_nothing_is_taken_back() -> None:
    sent: list[str] = []
    gate = SentenceGate(Restating(UNITS, "How long do refunds take and what does express cost?"), sent.append)
    gate.feed("Refunds reach your card within 5 business days. Express deliv")
    assert sent == ["Refunds reach your card within 5 business days."]  # the second is not complete yet
    stream_through(gate, "Refunds reach your card within 5 business days. Express delivery costs $19.95.")
    assert "".join(sent) == "Refunds reach your card within 5 business days. Express delivery costs $19.95."
    assert not gate.broken


def test_a_spliced_or_altered_sentence_stops_the_reply_after_what_was_verified() -> None:
    sent: list[str] = []
    gate = SentenceGate(Restating(UNITS, "What does express cost?"), sent.append)
    stream_through(gate, "Express delivery costs $19.95. Refunds reach your card within 2 business days.")
    assert gate.broken and "".join(sent) == "Express delivery costs $19.95."


def test_yes_and_no_lead_only_yes_no_questions_and_agree_with_the_sentence() -> None:
    def first_passes(question: str, reply: str) -> bool:
        sent: list[str] = []
        gate = SentenceGate(Restating(UNITS, question), sent.append)
        gate.finish(reply)
        return bool(sent)

    assert first_passes("Can I return sale items?", "No, sale items cannot be returned.")
    assert not first_passes("Can I return sale items?", "Yes, sale items cannot be returned.")
    assert first_passes("Do refunds go back to my card?", "Yes, refunds reach your card within 5 business days.")
    assert not first_passes("Do refunds go back to my card?", "No, refunds reach your card within 5 business days.")
    assert not first_passes("When do refunds arrive?", "Yes, refunds reach your card within 5 business days.")


def test_a_list_lead_in_read_as_one_sentence_with_its_item_passes_only_with_an_evidence_item() -> None:
    units = ["While you wait, we'll help:", "A delay of 2 hours or more gets you a $15 meal voucher.", *UNITS]
    sent: list[str] = []
    gate = SentenceGate(Restating(units, "Do I get food during a delay?"), sent.append)
    gate.finish("While you wait, we'll help: A delay of 2 hours or more gets you a $15 meal voucher.")
    assert sent and not gate.broken
    sent.clear()
    gate = SentenceGate(Restating(units, "Do I get food during a delay?"), sent.append)
    gate.finish("While you wait, we'll help: A delay of 2 hours or more gets you a $50 meal voucher.")
    assert not sent and gate.broken


def test_an_evidence_unit_of_two_sentences_passes_sentence_by_sentence() -> None:
    units = ["E42: the dock has lost its connection. Try a bike in a different dock.", *UNITS]
    sent: list[str] = []
    gate = SentenceGate(Restating(units, "what does E42 mean?"), sent.append)
    stream_through(gate, "E42: the dock has lost its connection. Try a bike in a different dock.")
    assert "".join(sent) == "E42: the dock has lost its connection. Try a bike in a different dock."
    assert not gate.broken


def test_the_same_sentence_twice_is_refused() -> None:
    sent: list[str] = []
    gate = SentenceGate(Restating(UNITS, "q"), sent.append)
    stream_through(gate, "Sale items cannot be returned. Sale items cannot be returned.")
    assert sent == ["Sale items cannot be returned."] and gate.broken


def test_a_paraphrasing_model_passes_only_with_supported_facts() -> None:
    evidence = " ".join(UNITS)
    support = Support(evidence)
    ok: list[str] = []
    gate = SentenceGate(Grounded(support, evidence), ok.append)
    stream_through(gate, "Express delivery costs $19.95 per order.")
    assert ok == ["Express delivery costs $19.95 per order."]
    bad: list[str] = []
    gate = SentenceGate(Grounded(support, evidence), bad.append)
    stream_through(gate, "Express delivery costs $24.95 per order.")
    assert bad == [] and gate.broken


def test_yes_no_questions_are_recognised_after_a_greeting_or_a_story() -> None:
    assert is_yes_no_question("hi, can I pay with PayPal?")
    assert is_yes_no_question("I bought a pass yesterday. Is it still valid?")
    assert not is_yes_no_question("How much is a day pass?")
    assert is_yes_no_question("flying to lisbon next month, can i bring my dog?")
    assert is_yes_no_question("my daughter turns 2 on the trip - can she still sit on my lap")
    assert not is_yes_no_question("flying to lisbon next month, how much is a dog?")


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("if i cancel a lite ticket do i get anything back at all", True),
        ("if the bike breaks can i swap it", True),
        # A condition before a question that asks how much, or a question that asks when.
        ("if my flight is delayed how much compensation do i get", False),
        ("when do i get my refund?", False),
    ],
)
def test_a_question_opening_with_a_condition_asks_yes_or_no_where_what_follows_does(
    question: str, yes_no: bool
) -> None:
    assert is_yes_no_question(question) is yes_no


def test_a_negation_in_a_condition_does_not_make_the_answer_no() -> None:
    assert not says_no("Larks expire if your account has no activity, meaning no earning, for 18 months.")
    assert says_no("If you cancel a Lite fare, we don't refund it.")
    assert not says_no("If you don't use your pass, we refund it in full.")
    assert says_no("We can't refund a ticket if you have used it.")
    assert says_no("A Day Pass can be refunded only if you haven't unlocked a bike with it.")
    assert says_no("We charge no fee for it.")
