"""The questions of one message (pure logic)."""

from __future__ import annotations

import pytest

from generation.answering.questions import (
    asking_part,
    named_words,
    split,
    telling_part,
    thing_asked_for,
    valued_words,
)


@pytest.mark.parametrize(
    ("message", "questions"),
    [
        (
            "how much is express shipping and how long does it take?",
            ["how much is express shipping", "how long does it take?"],
        ),
        (
            "I have two questions: can I return worn boots? and how long do refunds take?",
            ["can I return worn boots?", "how long do refunds take?"],
        ),
        ("Do you price match? Also do you ship to Canada?", ["Do you price match?", "do you ship to Canada?"]),
        # "and is there a charge for that" leans on the question before, and keeps its "and".
        (
            "can I keep my number if I switch? and is there a charge for that",
            ["can I keep my number if I switch?", "and is there a charge for that"],
        ),
    ],
)
def test_a_message_that_asks_two_things_is_two_questions(message: str, questions: list[str]) -> None:
    assert split(message) == questions


@pytest.mark.parametrize(
    "message",
    [
        "can I return boots and sandals?",  # one question about two things
        "How much is it? I ordered yesterday.",  # a question and a statement
        "Hi! How are you? Do you ship to Canada?",  # small talk, then one question
        "is it free to pay over the phone or do you charge for that",
        "What? Why? How? When? Where?",  # more than a few: not a list of questions to answer
    ],
)
def test_a_message_that_asks_one_thing_stays_whole(message: str) -> None:
    assert split(message) == [message]


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("does skylark have a lounge at the airport i can use?", "lounge"),
        ("do u have student discounts on phone plans", "student discounts"),
        ("Can I get a static IP address with home fibre? I run a server.", "static IP address"),
        ("Is there a Spokes station at Riverton airport?", "Spokes station"),
        ("Do you accept Apple Pay at checkout?", "Apple Pay"),
        ("Are you hiring bike mechanics? I'd love to work for you.", "bike mechanics"),
        ("Is it possible to buy Mesh Points outright instead?", "Mesh Points outright"),
        ("does the annual membership include a helmet?", "helmet"),
        ("do the e-bikes have a usb port so i can charge my phone", "usb port"),
        ("Is the Ride Confident safety class offered in Spanish?", "Spanish"),
        ("can I get my bills in large print?", None),  # the customer's own bills: how, not whether
        # An amount, a limit or a means is asked for, not a thing the articles must name.
        ("is there a fee if i pay by credit card", None),
        # A way to pay is a thing the company takes or not.
        ("can i pay my bill with a credit card or is there a fee for that", "credit card"),
        ("can I pay for my order with PayPal?", "PayPal"),
        ("is there a max on what you can charge me?", None),
        ("is there anyway it can sit with me?", None),
        ("how much is the 1 Gig plan?", None),
        ("is there a cheaper plan for people on benefits?", "cheaper plan for people"),
        # Whom it is for belongs to it: a passage about tariffs that never speaks of students
        # does not answer it.
        ("do u have a cheaper tariff for students", "cheaper tariff for students"),
        # What it is for does not: money back is asked for, "the rest of the day" names nothing.
        ("can I get some money back for the rest of the day?", None),
        # What the customer does is no thing the company has: "till" is no product.
        ("lost my card, what do i do till it comes?", None),
        ("what do we do with the old router", None),
        # Whether a thing is covered, included or allowed names it before the verb.
        ("are drones covered under personal possessions?", "drones"),
        ("is a hot tub in the back garden covered under buildings?", "hot tub"),
        ("my son is at uni, is his stuff covered under our contents policy?", None),
        ("is my tent pole covered by your warranty?", None),
        ("is that covered by the scam refund thing", None),
    ],
)
def test_the_thing_a_customer_asks_whether_the_company_has(question: str, thing: str | None) -> None:
    assert thing_asked_for(question) == thing


def test_a_price_word_does_not_name_the_thing() -> None:
    # "A cheaper plan" is a plan: an article about a reduced-fare plan speaks of it.
    assert named_words("cheaper plan for people") == ["plan"]
    assert named_words("cheaper tariff for students") == ["tariff", "students"]
    assert named_words("cheapest day pass") == ["day", "pass"]


@pytest.mark.parametrize(
    ("message", "asking"),
    [
        ("can you mail me my sunglasses? i'm back home in ohio now", "can you mail me my sunglasses?"),
        ("my son wants to visit his dad in phoenix, is that allowed?", "is that allowed?"),
        ("going on a cruise in july - will my phone work on the ship?", "will my phone work on the ship?"),
        ("If I cancel today, can I get a refund?", "can I get a refund?"),
        ("lost my ring on holiday in spain, am i covered", "am i covered"),
        # Every part asks, or none does: the message is its own asking part.
        ("Do you sell kayaks?", "Do you sell kayaks?"),
        ("My order arrived broken.", "My order arrived broken."),
    ],
)
def test_the_part_of_a_message_that_asks_is_told_from_what_it_tells(message: str, asking: str) -> None:
    assert asking_part(message) == asking


def test_the_part_of_a_message_that_tells_is_the_customers_case() -> None:
    assert telling_part("i made a complaint 9 weeks ago and its still not sorted. who can i go to now?") == (
        "i made a complaint 9 weeks ago and its still not sorted."
    )
    assert telling_part("how much is protect for a phone worth about $700?") == ""


@pytest.mark.parametrize(
    ("question", "words"),
    [
        ("how much is delivry for a sofa?", ["delivry", "sofa"]),
        ("whats the fee for a replacement card, i lost mine", ["replacement", "card"]),
        ("how long does a refund take?", ["refund"]),
        ("how much extra is the feather one", ["feather"]),
        ("When does my phone get unlocked?", ["phon", "unlock"]),
        ("what time does the leeds showroom open on sundays", ["leed", "showroom", "sunday"]),
        # A pronoun names nothing; nor does a question for no price or time.
        ("how much is that?", []),
        ("how long will it take", []),
        ("can i get a refund?", []),
    ],
)
def test_the_words_naming_what_a_price_or_a_time_is_asked_of(question: str, words: list[str]) -> None:
    assert valued_words(question) == words
