"""The amounts a customer names and the bands an article's sentences state (pure logic)."""

from __future__ import annotations

import math

import pytest

from generation.answering import quantities
from generation.answering.quantities import Band


@pytest.mark.parametrize(
    ("question", "amounts"),
    [
        ("landed 7 hours late, what compensation do I get", [("time", 7.0)]),
        ("is a 35kg bag ok if i pay extra", [("weight", 35.0)]),
        ("my bag is 50 lbs", [("weight", pytest.approx(22.68))]),
        ("left it in my garage for 2 days", [("time", 48.0)]),
        ("my daughter is 9 and wants to fly alone", [("age", 9.0)]),
        ("im 17, can i ride the electric ones?", [("age", 17.0)]),
        ("does my 8 yr old need an id", [("age", 8.0)]),
        ("insurance for a phone that cost me $1,200", [("money", 1200.0)]),
        ("i'm about £600 in credit", [("money", 600.0)]),
        ("my engagement ring is worth about £6k", [("money", 6000.0)]),
        # Money named by a word after it: "quid", "bucks", "dollars" (a "pound" may weigh).
        ("i'm about 600 quid in credit", [("money", 600.0)]),
        ("a watch worth 2k dollars", [("money", 2000.0)]),
        ("a 50 pound bag", []),
        ("we are 14 people going to a wedding", [("people", 14.0)]),
        # A number that measures something else is no age: "is 3 hours", "is 20%".
        ("my flight is 3 hours late and the discount is 20%", [("time", 3.0)]),
        ("how do I change my address?", []),
    ],
)
def test_the_amounts_a_customer_names(question: str, amounts: list[tuple[str, float]]) -> None:
    assert quantities.asked(question) == amounts


@pytest.mark.parametrize(
    ("sentence", "bands"),
    [
        ("Arrival 3 to 6 hours late: $100 per passenger.", [Band("time", 3.0, 6.0)]),
        ("Arrival more than 6 hours late: $200 per passenger.", [Band("time", 6.0, math.inf)]),
        ("No single bag can weigh more than 32 kg.", [Band("weight", 32.0, math.inf)]),
        ("Groups of 10 or more passengers book by email.", [Band("people", 10.0, math.inf)]),
        ("You can book up to 9 passengers online.", [Band("people", 0.0, 9.0)]),
        ("For phones worth $400.01 to $900: $12 a month.", [Band("money", 400.01, 900.0)]),
        ("Shipping is free on orders over $75.", [Band("money", 75.0, math.inf)]),
        ("If you have more than £100 of credit, we refund the extra.", [Band("money", 100.0, math.inf)]),
        ("Items worth up to €1,500 each are covered.", [Band("money", 0.0, 1500.0)]),
        (
            "SkyBuddy is mandatory for children aged 6 to 11 travelling without someone aged 16 or older.",
            [Band("age", 6.0, 11.0), Band("age", 16.0, math.inf)],
        ),
        ("Children under 6 can't travel alone.", [Band("age", 0.0, 6.0)]),
        ("You must be at least 18 years old to ride an e-bike.", [Band("age", 18.0, math.inf)]),
        (
            "If your complaint hasn't been resolved after 8 weeks, contact the ombudsman.",
            [Band("time", 1344.0, math.inf)],
        ),
        # A deadline is no band of cases: "2 days" does not make it the answer.
        ("Send us the police report within 48 hours.", []),
        ("A day pass costs $12.", []),
    ],
)
def test_the_bands_a_sentence_states(sentence: str, bands: list[Band]) -> None:
    assert list(quantities.stated(sentence)) == bands


def test_a_band_fits_an_amount_of_its_own_kind_in_any_unit() -> None:
    assert quantities.fits(quantities.asked("landed 7 hours late"), "Arrival more than 6 hours late: $200.")
    assert not quantities.fits(quantities.asked("landed 7 hours late"), "Arrival 3 to 6 hours late: $100.")
    assert quantities.fits(quantities.asked("it's been 2 days"), "Bikes out more than 24 hours are lost.")
    # An age is not a weight, though both are numbers in the same range.
    assert not quantities.fits(quantities.asked("my son is 9"), "Bags of 6 to 11 kg go in the hold.")
    assert not quantities.fits([], "Arrival more than 6 hours late: $200.")


def test_a_bounded_fit_needs_a_band_with_an_upper_end() -> None:
    bike = quantities.asked("my bike was £1,800")
    assert quantities.fits(bike, "If your bike is worth more than £750, add Cycle cover.")
    assert not quantities.fits(bike, "If your bike is worth more than £750, add Cycle cover.", bounded=True)
    assert quantities.fits(bike, "Value of bike: £1,001 to £2,500; Price per month: £4.75.", bounded=True)
