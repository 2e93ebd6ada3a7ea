"""Evidence selection over an article's passages, on hand-made vectors (pure logic)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from generation.answering import evidence
from generation.knowledge.passages import Outline, Passage, outline

UNITS = [
    "Bikes can be hired at any station.",
    "A day pass costs $12.",
    "Helmets are free.",
    "Rides over 45 minutes cost $2 for every extra 15 minutes.",
]
# The question's vector, and each unit's: the last unit (another section) answers best.
QUESTION = np.array([1.0, 0.0])
VECTORS = np.array([[0.1, 1.0], [0.2, 1.0], [0.1, 1.0], [1.0, 0.1]])
VECTORS = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)


def hits(second_score: float) -> list[Any]:
    entry = SimpleNamespace(outline=SimpleNamespace(units=UNITS, lead_ins=(-1,) * len(UNITS)), context_vectors=VECTORS)
    first = Passage("Hiring", 0, 3, " ".join(UNITS[:3]))
    second = Passage("Long rides", 3, 4, UNITS[3])
    return [
        SimpleNamespace(entry=entry, passage=first, score=0.80),
        SimpleNamespace(entry=entry, passage=second, score=second_score),
    ]


def test_a_nearly_as_good_passage_of_the_same_article_is_looked_into(monkeypatch: pytest.MonkeyPatch) -> None:
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    top, runner_up = hits(0.79)
    found = evidence.select(index, top, QUESTION, "How much do long rides cost?", [runner_up])
    # The best unit is kept even where the best passage alone would fill the evidence.
    assert found.texts[found.best] == UNITS[3] and UNITS[3] in found.text
    assert len(found.texts) <= evidence.MAX_UNITS
    # A passage of the article that ranks far below still lends the unit that answers: the best
    # unit comes from the passages found, and this one joins it.
    # (A passage this short would be the evidence whole, leaving no room for it.)
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    far_top, far = hits(0.70)
    joined = evidence.select(index, far_top, QUESTION, "How much do long rides cost?", [far])
    assert joined.texts[joined.best] != UNITS[3] and UNITS[3] in joined.text


def test_a_value_the_evidence_holds_answers_though_the_best_passage_lacks_it() -> None:
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    top, runner_up = hits(0.79)
    question = "How long can I ride before I pay extra?"
    found = evidence.select(index, top, QUESTION, question, [runner_up])
    assert "minutes" not in top.passage.text and "45 minutes" in found.text
    assert not evidence.lacks_what_is_asked(question, found)
    alone = evidence.select(index, top, np.array([0.0, 1.0]), question, [])
    assert "minutes" not in alone.text and evidence.lacks_what_is_asked(question, alone)


def test_a_unit_elsewhere_in_the_article_joins_only_when_it_answers_nearly_as_well() -> None:
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    top, _ = hits(0.70)
    # The question now matches the first section: the long-rides unit is far from it.
    question = np.array([0.0, 1.0])
    found = evidence.select(index, top, question, "Where can I hire a bike?", [])
    assert UNITS[3] not in found.text and found.texts[found.best] in UNITS[:3]


INSTALLATION = [
    "Someone aged 18 or over must be at home for the whole appointment.",
    "Most installations take between 2 and 4 hours.",
    "Our engineer fits a small box inside your home.",
    "If your home already has a fibre wall box, you may not need an engineer at all.",
    "In an apartment building we may need the agreement of its owner.",
    "Getting that agreement can add up to 6 weeks to your installation.",
    "We contact the building owner for you.",
]


def test_a_unit_elsewhere_in_the_article_that_answers_better_than_the_passage_found_stays() -> None:
    # Retrieval found the passage about wall boxes and apartments (units 3-6); the sentence
    # about who must be home, in another section, matches the question better than any of it.
    nearness = [1.0, 0.0, 0.0, 0.9, 0.89, 0.97, 0.87]
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in nearness])
    entry = SimpleNamespace(outline=SimpleNamespace(units=INSTALLATION, lead_ins=(-1,) * 7), context_vectors=vectors)
    passage = Passage("Before the visit", 3, 7, " ".join(INSTALLATION[3:]))
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.6)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, QUESTION, "my son will be home, do I need to be there?", [])
    assert INSTALLATION[0] in found.texts and INSTALLATION[3] in found.texts
    assert len(found.texts) <= evidence.MAX_UNITS


def select_where_only(shape: Outline, unit: int, question: str) -> evidence.Evidence:
    """The evidence for ``question`` where ``unit`` of ``shape`` alone matches it: every other
    unit is far from it."""
    return select_where_two(shape, unit, -1, 0.0, question)


def select_where_two(
    shape: Outline, unit: int, other: int, cosine: float, question: str, *, rest: tuple[float, float] = (0.0, 1.0)
) -> evidence.Evidence:
    """The evidence for ``question`` where ``unit`` of ``shape`` matches it best, ``other`` at
    ``cosine``, and every other unit at the vector ``rest``."""
    vectors = np.array(
        [
            [1.0, 0.0] if i == unit else [cosine, np.sqrt(1 - cosine**2)] if i == other else list(rest)
            for i in range(len(shape.units))
        ]
    )
    entry = SimpleNamespace(outline=shape, context_vectors=vectors)
    passage = next(p for p in shape.passages if p.start <= unit < p.end)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.9)
    return evidence.select(index, hit, QUESTION, question)


def test_a_list_item_comes_with_the_sentence_that_introduces_its_list() -> None:
    shape = outline(
        "## Urgent problems\n\nSome problems can't wait. Call our 24-hour line on 555-0199 if:\n\n"
        "- A bike is stuck in a dock and you can't end your ride.\n"
        "- A dock or station looks electrically unsafe, for example a damaged cable or a burning smell.\n"
        "- Anyone has been injured.\n\nFor anything else, please use the app."
    )
    item = shape.units.index("A bike is stuck in a dock and you can't end your ride.")
    found = select_where_only(shape, item, "The bike is stuck in the dock, who do I call?")
    assert found.texts == ("Call our 24-hour line on 555-0199 if:", shape.units[item])
    # The answer starts at the lead-in: it holds the number, the item only the case.
    assert found.texts[found.best] == "Call our 24-hour line on 555-0199 if:"


@pytest.mark.parametrize(("limit", "items"), [(600, 4), (220, 2)])
def test_a_lead_in_that_answers_best_comes_with_its_list(
    monkeypatch: pytest.MonkeyPatch, limit: int, items: int
) -> None:
    monkeypatch.setattr(evidence, "LIST_MAX_CHARS", limit)
    shape = outline(
        "## Ways to pay\n\nWe offer several ways to pay your bill:\n\n"
        "- Autopay from a bank account, debit card or credit card, set up once in the app.\n"
        "- A one-off card payment in the app or on our website, at any time of the day.\n"
        "- PayPal, set up in the app under Billing > Payment methods, then paid each month.\n"
        "- Our automated phone payment line on 555-0150, which is free to use from any phone.\n\n"
        "Cash payments appear within 2 hours. A check takes 7 days to reach us."
    )
    lead = shape.units.index("We offer several ways to pay your bill:")
    found = select_where_only(shape, lead, "What ways can I pay my bill?")
    # The ways, not the first of them alone, in the article's order, as many as fit.
    assert found.whole and found.texts[found.best] == shape.units[lead]
    assert found.texts[1:] == tuple(shape.units[lead + 1 : lead + 1 + items])
    assert "Cash payments appear within 2 hours." not in found.texts


def test_a_yes_or_no_answer_from_a_list_item_leaves_the_next_item_out() -> None:
    shape = outline(
        "## Ways to pay\n\nWe offer several ways to pay your bill:\n\n"
        "- Autopay from a bank account, debit card or credit card, set up once in the app.\n"
        "- PayPal, set up in the app under Billing > Payment methods, then paid each month.\n"
        "- Our automated phone payment line on 555-0150, which is free to use from any phone.\n"
        "- Cash at retail partners such as pharmacies, using the payment barcode in the app.\n\n"
        "Cash payments appear within 2 hours."
    )
    paypal = next(i for i, unit in enumerate(shape.units) if unit.startswith("PayPal"))
    found = select_where_only(shape, paypal, "Can I pay my bill with PayPal?")
    # The item that says yes, after its lead-in; the phone line after it is no "how".
    assert found.texts == ("We offer several ways to pay your bill:", shape.units[paypal])


def test_the_evidence_never_ends_with_a_lead_in_whose_list_is_left_out() -> None:
    shape = outline(
        "## Family Guard\n\nFamily Guard is our parental control app, and it costs $4.99 a month. "
        "With Family Guard you can:\n\n"
        "- See where your child's phone is on a map, updated every few minutes while it is switched on.\n"
        "- Set daily screen-time limits and a bedtime after which only calls to you are allowed."
    )
    price = next(i for i, unit in enumerate(shape.units) if "$4.99" in unit)
    lead = shape.units.index("With Family Guard you can:")
    # The lead-in answers nearly as well as the price sentence; its list items do not.
    vectors = np.array(
        [[1.0, 0.0] if i == price else [0.999, 0.045] if i == lead else [0.0, 1.0] for i in range(len(shape.units))]
    )
    entry = SimpleNamespace(outline=shape, context_vectors=vectors)
    passage = next(p for p in shape.passages if p.start <= price < p.end)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.9)
    found = evidence.select(index, hit, QUESTION, "And Family Guard?")
    assert "$4.99" in found.text and not found.text.rstrip().endswith(":")


def test_a_list_item_that_joins_comes_with_its_lead_in() -> None:
    shape = outline(
        "## Redelivery\n\nThe redelivery fee is £25 and applies even if your first delivery was free.\n\n"
        "## When we'll waive the fee\n\nWe'll waive the redelivery fee if:\n\n"
        "- our team arrived outside the 3-hour window that we sent you by text the evening before\n"
        "- you tell us about a medical emergency or bereavement within 2 working days of the missed delivery\n"
    )
    fee = next(i for i, unit in enumerate(shape.units) if "£25" in unit)
    emergency = next(i for i, unit in enumerate(shape.units) if "medical emergency" in unit)
    # The fee's sentence answers best; the emergency item, in another section, nearly as well.
    found = select_where_two(shape, fee, emergency, 0.99, "do I have to pay for redelivery after a hospital emergency?")
    # Alone, the item would read as a rule the customer must follow, not as the case it is.
    assert found.texts == (shape.units[fee], "We'll waive the redelivery fee if:", shape.units[emergency])


def test_an_item_that_runs_on_ends_the_evidence_with_a_full_stop() -> None:
    shape = outline(
        "## Penalty fares\n\nYou may be charged a penalty fare if you:\n\n"
        "- are on a tram or metro train, or in the ticket-only area of a station, without a ticket\n"
        "- didn't tap in with your card, phone or watch before boarding the vehicle or the train\n"
        "- tapped in with a different card or device from the one you show to the officer\n"
    )
    first = next(i for i, unit in enumerate(shape.units) if unit.startswith("are on a tram"))
    found = select_where_only(shape, first, "can I be fined for being on a tram without a ticket?")
    assert found.texts == (
        "You may be charged a penalty fare if you:",
        "are on a tram or metro train, or in the ticket-only area of a station, without a ticket.",
    )
    assert shape.units[first].endswith("ticket;")


DUPLICATES = (
    "## Before you raise a dispute\n\nPlease contact the merchant first. Many problems are sorted out quickly once "
    "the merchant knows about them, and the card scheme's rules usually require you to have tried.\n\n"
    "If a payment looks taken twice, check whether one is still Pending. Pending payments are amounts the "
    "merchant has asked us to reserve, and duplicate pending payments often drop off within 7 days. Hotels, "
    "fuel stations and car hire companies also place temporary holds on your balance that are released later, "
    "once the final amount is known."
)


def test_one_thin_sentence_goes_on_into_the_next_that_says_what_it_means() -> None:
    shape = outline(DUPLICATES)
    best = shape.units.index("If a payment looks taken twice, check whether one is still Pending.")
    question = "the shop took my money two times"
    # The next sentence answers within THIN_MARGIN of the best, though not within the margin
    # at which any unit joins it.
    found = select_where_two(shape, best, best + 1, 0.87, question)
    assert found.texts[found.best :] == (shape.units[best], shape.units[best + 1])
    # Far from the question, it stays out: the answer is the one sentence.
    alone = select_where_two(shape, best, best + 1, 0.7, question)
    assert alone.texts[alone.best :] == (shape.units[best],)


def test_a_thin_table_row_does_not_go_on_into_the_next_row() -> None:
    shape = outline(
        "## How long each part is guaranteed\n\n| Product or part | Guarantee |\n|---|---|\n"
        "| Sofa and armchair frames | 15 years |\n| Sofa springs and webbing | 5 years |\n"
        "| Fabric and leather upholstery, including cushions and covers | 1 year |\n"
        "| Mattresses from our own range, excluding toppers | 10 years |\n"
        "| Beds, bed frames and headboards in solid wood | 10 years |\n"
    )
    row = next(i for i, unit in enumerate(shape.units) if "frames" in unit)
    found = select_where_two(shape, row, row + 1, 0.87, "how many years is the base of a settee covered")
    assert found.texts[found.best :] == (shape.units[row],)


PRICES = (
    "## Checked bag prices\n\nYou can add checked bags in two weight options. Prices are per bag, per one-way "
    "flight, and depend on when you add the bag:\n\n"
    "- 15 kg bag: $30 when booking your flight, $40 when added later in Manage booking > Bags.\n"
    "- 23 kg bag: $40 when booking your flight, $50 when added later in Manage booking > Bags.\n"
    "- Any bag up to 23 kg added at the airport check-in desk on the day you fly: $75.\n\n"
    "Each passenger can check in up to 5 bags, and each bag can be a different weight option."
)


def items_alike(shape: Outline, best: int, said: Any = lambda _: False) -> evidence.Evidence:
    """The evidence where every item of ``shape``'s list matches the question nearly as well as
    ``best``, the other units far less."""
    items = [i for i, lead in enumerate(shape.lead_ins) if lead >= 0]
    vectors = np.array(
        [
            [1.0, 0.0] if i == best else [0.995, np.sqrt(1 - 0.995**2)] if i in items else [0.3, np.sqrt(0.91)]
            for i in range(len(shape.units))
        ]
    )
    entry = SimpleNamespace(outline=shape, context_vectors=vectors)
    passage = next(p for p in shape.passages if p.start <= best < p.end)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.9)
    return evidence.select(index, hit, QUESTION, "how much is a checked bag?", said=said)


def test_list_items_that_answer_alike_come_as_the_whole_list() -> None:
    shape = outline(PRICES)
    airport = next(i for i, unit in enumerate(shape.units) if "airport" in unit)
    found = items_alike(shape, airport)
    # All three prices, not two of them read as the only ones, after the lead-in.
    assert found.whole and found.texts[0].endswith("depend on when you add the bag:")
    assert [t[:6] for t in found.texts[1:]] == ["15 kg ", "23 kg ", "Any ba"]
    # Where the reply before gave the list, a follow-up ("what about at the airport?") gets its item.
    again = items_alike(shape, airport, said=lambda unit: unit in found.texts)
    assert not again.whole and shape.units[airport] in again.texts and len(again.texts) < len(found.texts)


def test_a_lead_in_whose_list_is_left_out_goes_wherever_it_stands() -> None:
    shape = outline(PRICES)
    options = next(i for i, unit in enumerate(shape.units) if unit.startswith("You can add"))
    last = next(i for i, unit in enumerate(shape.units) if unit.startswith("Each passenger"))
    found = select_where_two(shape, options, last, 0.95, "What weights can checked bags be?", rest=(0.2, np.sqrt(0.96)))
    assert shape.units[options] in found.texts and shape.units[last] in found.texts
    assert not any(text.endswith(":") for text in found.texts)


FEES = [
    "If we haven't received your payment 7 days after the due date, we add a late fee of $8 to your next bill.",
    "We charge only one late fee per bill.",
    "We don't charge a late fee if the overdue amount is less than $10.",
]


@pytest.mark.parametrize(("rule_cosine", "starts_with_rule"), [(0.95, True), (0.6, False)])
def test_an_answer_starts_with_the_rule_that_states_the_value_asked_before_its_exception(
    rule_cosine: float, starts_with_rule: bool
) -> None:
    """The exception scores best; the rule before it, when it scores nearly as well, is where
    the answer starts, so "How much is the late fee?" is answered with the $8."""
    question = np.array([1.0, 0.0])
    vectors = np.array([[rule_cosine, np.sqrt(1 - rule_cosine**2)], [0.5, np.sqrt(0.75)], [1.0, 0.0]])
    entry = SimpleNamespace(outline=SimpleNamespace(units=FEES, lead_ins=(-1,) * 3), context_vectors=vectors)
    hit: Any = SimpleNamespace(entry=entry, passage=Passage("Late fees", 0, 3, " ".join(FEES)), score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, question, "How much is the late fee?", [])
    assert found.texts == tuple(FEES)
    assert found.texts[found.best] == (FEES[0] if starts_with_rule else FEES[2])


WEEKEND = [
    "Visiting for a long weekend?",
    "Each ride on a Weekend Pass is limited to 2 hours.",
    "Passes are sold in the app.",
]


def test_a_sentence_of_the_article_that_asks_is_not_the_answer() -> None:
    question = np.array([1.0, 0.0])
    vectors = np.array([[1.0, 0.0], [0.9, np.sqrt(1 - 0.81)], [0.0, 1.0]])
    entry = SimpleNamespace(outline=SimpleNamespace(units=WEEKEND, lead_ins=(-1,) * 3), context_vectors=vectors)
    hit: Any = SimpleNamespace(entry=entry, passage=Passage("Weekends", 0, 3, " ".join(WEEKEND)), score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, question, "visiting for a weekend, how long can each ride be?", [])
    assert found.texts[found.best] == WEEKEND[1]


def test_each_sentence_that_answers_nearly_as_well_joins_the_best() -> None:
    units = [
        "Ledgerly has three plans.",
        "Starter costs $9 per month for one user.",
        "Team costs $29 per month for up to 5 users.",
        "Business costs $79 per month for up to 25 users.",
        "Paying yearly saves 20%.",
    ]
    cosines = [0.2, 0.53, 0.49, 0.58, 0.37]
    vectors = np.array([[c, np.sqrt(1 - c**2)] for c in cosines])
    index, hit = one_passage("Plans and pricing", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "how much does it cost", [])
    # All three plans: two of them would read as the only ones.
    assert found.texts == tuple(units[1:4])


def test_the_code_the_customer_names_is_answered_without_the_others() -> None:
    units = [
        "Check in online from 30 hours before departure.",
        "CI-04: travel document details are missing, so add them in Manage booking.",
        "CI-09: your booking includes a service our staff check in person, such as a pet in the cabin.",
        "Online check-in closes 1 hour before departure.",
    ]
    # The embedder puts the other code's sentence a little closer to the question.
    index, hit = at_cosines("Check-in errors", units, [0.3, 0.8, 0.75, 0.3])
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "the app just says CI-09, what am i doing wrong", [])
    assert found.texts[found.best] == units[2] and units[1] not in found.texts
    # Asked about no code, the other one answers nearly as well and joins.
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "the app just says an error, what am i doing wrong", [])
    assert units[1] in found.texts


def test_the_item_labelled_with_the_customers_case_is_answered() -> None:
    units = [
        "Change fees are charged per passenger, per flight:",
        "Lite: $65 per passenger per flight.",
        "Classic: $35 per passenger per flight.",
        "Flex: no change fee.",
        "A name change costs $110 per passenger per flight and is possible on Classic and Flex fares.",
    ]
    # The embedder puts the name change a little closer to "move my flight to another date".
    index, hit = at_cosines("Change fees", units, [0.5, 0.55, 0.55, 0.5, 0.62])
    hit.entry.outline.lead_ins = (-1, 0, 0, 0, -1)  # the fares are items of the first sentence's list
    found = evidence.select(
        index, hit, np.array([1.0, 0.0]), "how much to move my flight to another date? im on classic", []
    )
    # The list's lead-in, then the fares, the customer's among them; not the name change.
    assert found.texts[found.best] == units[0] and units[2] in found.texts and units[4] not in found.texts
    # Naming no fare, the name change, which matches best, is part of the answer.
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "how much to move my flight to another date?", [])
    assert units[4] in found.texts[found.best :]


def test_a_label_on_every_row_of_a_table_picks_none_of_them() -> None:
    rows = [
        f"Cover: {what}; Plus: {amount}; Premier: {more}."
        for what, amount, more in [
            ("Trace and access", "£5,000", "£10,000"),
            ("Alternative accommodation", "£50,000", "£75,000"),
            ("Liability", "£2 million", "£2 million"),
        ]
    ]
    units = ["Each plan's limits are below.", *rows, "Premier customers can also call our priority line."]
    assert evidence._labelled(units, {"premier", "cover"}) == set()
    assert evidence._labelled(["Premier: £10,000.", "Plus: £5,000."], {"premier"}) == {0}


def test_a_sentence_that_sends_the_reader_to_another_article_names_it() -> None:
    titles = ["Your excess explained", "Choosing your seat and extra legroom", "Moving house", "Refunds"]
    assert evidence.sends_to(
        "This means a higher excess applies to flood claims – see Your excess explained.", titles
    ) == [0]
    assert evidence.sends_to(
        "Children sit next to an adult, as explained in our article on choosing your seat.", titles
    ) == [1]
    assert evidence.sends_to("If you move, please see our moving house article first.", titles) == [2]
    # Naming an article's subject is not sending the reader there.
    assert (
        evidence.sends_to("Claims under Home emergency cover don't affect your discount on moving house.", titles) == []
    )
    assert evidence.sends_to("You can see your refunds in the app.", titles) == []


def test_a_code_in_capitals_picks_its_sentence_unless_the_customer_writes_in_capitals() -> None:
    units = [
        "Each flight on your booking shows a fare code.",
        "Lite fares have the code LSAV, Classic fares have the code CSTD and Flex fares FFLX.",
        "The same code is printed on your boarding pass.",
    ]
    # The sentence that names a fare code in general is closer to the question than the codes.
    cosines = [0.45, 0.38, 0.3]
    vectors = np.array([[c, np.sqrt(1 - c**2)] for c in cosines])
    index, hit = one_passage("How to recognise your fare", units, vectors)
    found = evidence.select(
        index, hit, np.array([1.0, 0.0]), "my confirmation email says CSTD, what does that mean", []
    )
    assert found.texts[found.best] == units[1]
    assert evidence.quoted_codes("error E27 and then CSTD?") == ["E27", "CSTD"]
    # A letter standing alone is one too ("the E next to my reading"); not "I", "A", nor the
    # letter of a word ("an E-bike", "the U.K.").
    assert evidence.quoted_codes("what does the E next to my reading mean on the bill") == ["E"]
    assert evidence.quoted_codes("I have an E-bike and A friend who rides in the U.K. with me") == []
    # Written in capitals throughout, the words are no codes.
    assert evidence.quoted_codes("WHY IS MY BILL SO HIGH THIS MONTH") == []
    # Nor is a word in capitals that many sentences of the article hold: the error sentence is as
    # close as the answer, and the PIN it names does not put it first.
    units = [
        "Request a transfer code in the app under Settings.",
        "Error P-02: the PIN is wrong or has expired.",
        "Your new provider asks for the PIN when you switch.",
        "Keep your PIN to yourself.",
        "Transfers requested between 8 am and 8 pm usually complete within 4 hours, and those requested later "
        "are processed from 8 am on the next working day, Monday to Saturday, except public holidays.",
    ]
    vectors = np.array([[c, np.sqrt(1 - c**2)] for c in (0.6, 0.6, 0.3, 0.3, 0.2)])
    index, hit = one_passage("Transfer PIN", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "where do i get the transfer code PIN?", [])
    assert found.texts[found.best] == units[0]


def test_a_sentence_saying_what_the_article_is_about_is_not_the_answer() -> None:
    units = [
        "This article explains how to dock correctly, what to do when a station is full, and how to end your ride.",
        "To end your ride, push the bike firmly into a free dock until the light turns green.",
        "Helmets are free at every station.",
    ]
    vectors = np.array([[1.0, 0.0], [0.9, np.sqrt(1 - 0.81)], [0.0, 1.0]])
    index, hit = one_passage("Ending your ride", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "how do i end my ride", [])
    assert found.texts[found.best] == units[1]


def test_a_short_passage_is_quoted_whole_but_for_what_says_what_the_article_is_about() -> None:
    units = [
        "In most cases you can cancel free of charge within 14 days.",
        "This article explains when you can cancel and what it costs.",
    ]
    vectors = np.array([[1.0, 0.0], [0.8, 0.6]])
    index, hit = one_passage("Cancelling an order", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "can i still cancel?", [])
    # The passage is short, so it is the evidence whole; the sentence about the article answers
    # nothing and reads like a pasted page.
    assert found.texts == (units[0],)


ROUTER = [
    "You can use your own router by connecting it to the fibre wall box instead of the Hub.",
    "Set your router to use VLAN 10, or it won't connect.",
    "Our support team can only help with the Hub.",
    "The Hub's lights show what it's doing.",
]


@pytest.mark.parametrize(
    ("question", "joins"),
    [("Can I use my own router instead of the hub?", True), ("Which router works with fibre?", False)],
)
def test_a_yes_or_no_answer_comes_with_the_sentence_that_says_how(
    monkeypatch: pytest.MonkeyPatch, question: str, joins: bool
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    vectors = np.array([[1.0, 0.0], [0.3, np.sqrt(0.91)], [0.3, np.sqrt(0.91)], [0.0, 1.0]])
    entry = SimpleNamespace(outline=SimpleNamespace(units=ROUTER, lead_ins=(-1,) * 4), context_vectors=vectors)
    hit: Any = SimpleNamespace(entry=entry, passage=Passage("Routers", 0, 4, " ".join(ROUTER)), score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, np.array([1.0, 0.0]), question, [])
    assert found.texts[found.best] == ROUTER[0]
    assert (ROUTER[1] in found.texts) is joins
    assert ROUTER[2] not in found.texts


CANCELLING = [
    "Many customers who want to leave find that a lower plan meets their needs.",
    "To cancel a line, please call our Customer Options team on 555-0123.",
    "For security reasons, cancellations can't be completed through live chat or by email.",
    "When your service ends, we send a final bill.",
]
PAYING = [
    "We accept Visa, Mastercard and PayPal.",
    "Gift cards can be combined with any of these.",
    "We do not accept cheques.",
    "Orders ship once the payment clears.",
]


@pytest.mark.parametrize(
    ("units", "question", "starts_at"),
    [
        # "No" to a way of reaching the company: the way that works, just before, comes first.
        (CANCELLING, "can i just cancel through the chat?", 1),
        # Not a yes-or-no question: the answer starts at the best sentence.
        (CANCELLING, "Why can't cancellations be completed through chat?", 2),
        # "No", but the sentence before gives no way to reach anyone: it stays out.
        (PAYING, "Can I send you a cheque?", 2),
    ],
)
def test_a_no_comes_with_the_way_that_works_just_before_it(
    monkeypatch: pytest.MonkeyPatch, units: list[str], question: str, starts_at: int
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    vectors = np.array([[0.0, 1.0], [0.3, np.sqrt(0.91)], [1.0, 0.0], [0.2, np.sqrt(0.96)]])
    entry = SimpleNamespace(outline=SimpleNamespace(units=units, lead_ins=(-1,) * 4), context_vectors=vectors)
    hit: Any = SimpleNamespace(entry=entry, passage=Passage("Help", 0, 4, " ".join(units)), score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, np.array([1.0, 0.0]), question, [])
    assert found.texts[found.best] == units[starts_at]
    assert units[2] in found.texts
    assert (units[1] in found.texts) is (starts_at == 1)


MOVING = [
    "Our fibre network reaches most cities.",
    "You can move your home internet to your new home for free.",
    "To do this, send us proof of your new address within 30 days of moving.",
    "We charge nothing for the visit.",
]


def at_cosines(heading: str, units: list[str], cosines: list[float]) -> tuple[Any, Any]:
    """``one_passage`` of ``units``, each at its cosine of ``cosines`` to the question ``[1, 0]``."""
    return one_passage(heading, units, np.array([[c, np.sqrt(1 - c**2)] for c in cosines]))


def one_passage(heading: str, units: list[str], vectors: np.ndarray) -> tuple[Any, Any]:
    """An index and a hit of one article that is one passage of ``units``, embedded as ``vectors``."""
    entry = SimpleNamespace(outline=SimpleNamespace(units=units, lead_ins=(-1,) * len(units)), context_vectors=vectors)
    hit = SimpleNamespace(entry=entry, passage=Passage(heading, 0, len(units), " ".join(units)), score=0.8)
    return SimpleNamespace(bm25=SimpleNamespace(idf={})), hit


@pytest.mark.parametrize(
    ("best", "starts_at"),
    [
        # "To do this, ..." means nothing alone: the sentence it points back at leads.
        ("To do this, send us proof of your new address within 30 days of moving.", 1),
        ("In that case, send us proof of your new address within 30 days of moving.", 1),
        # A sentence that stands alone starts the answer, as does one whose pronoun stands for
        # what the question names ("They never expire": "is my gift card still valid?").
        ("Send us proof of your new address within 30 days of moving.", 2),
        ("They need proof of your new address within 30 days of moving.", 2),
    ],
)
def test_a_sentence_that_points_back_comes_with_the_one_before_it(
    monkeypatch: pytest.MonkeyPatch, best: str, starts_at: int
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    units = [*MOVING[:2], best, MOVING[3]]
    vectors = np.array([[0.0, 1.0], [0.3, np.sqrt(0.91)], [1.0, 0.0], [0.0, 1.0]])
    index, hit = one_passage("Moving", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "How do I change my address when I move?", [])
    assert found.texts[found.best] == units[starts_at]
    assert best in found.texts
    assert (units[1] in found.texts) is (starts_at == 1)


def test_evidence_never_opens_with_a_sentence_pointing_back_at_one_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    units = [
        "You are responsible for the bike while it is out.",
        "That means a bike returned late is still your responsibility.",
        "A bike not returned within 24 hours is considered lost.",
        "Lost bikes are charged to your card.",
    ]
    # The second sentence scores nearly as well as the third, which answers best.
    vectors = np.array([[0.0, 1.0], [0.93, np.sqrt(1 - 0.93**2)], [1.0, 0.0], [0.0, 1.0]])
    index, hit = one_passage("Lost bikes", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), "What happens if I return the bike late?", [])
    assert found.texts[0] == units[2] and units[1] not in found.texts


def test_the_band_that_holds_the_customers_amount_is_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    units = [
        "We pay compensation when a delay is within our control.",
        "Arrival 3 to 6 hours late: $100 per passenger.",
        "Arrival more than 6 hours late: $200 per passenger.",
        "Claim within 6 months of the flight.",
    ]
    # Both bands read alike to the embedder; the first scores a little better.
    vectors = np.array([[0.6, 0.8], [0.9, np.sqrt(0.19)], [0.88, np.sqrt(1 - 0.88**2)], [0.0, 1.0]])
    index, hit = one_passage("Compensation", units, vectors)
    late = evidence.select(index, hit, np.array([1.0, 0.0]), "we landed 7 hours late, what do I get?", [])
    assert late.texts[late.best] == units[2]
    earlier = evidence.select(index, hit, np.array([1.0, 0.0]), "we landed 4 hours late, what do I get?", [])
    assert earlier.texts[earlier.best] == units[1]


EXCESS_WEIGHT = [
    "If your bag weighs more than the allowance you paid for, you pay $12 for each kg over it.",
    "For example, a 26 kg bag booked as a 23 kg bag costs an extra $36.",
    "It's usually cheaper to upgrade your bag online before you travel.",
    "No single bag can weigh more than 32 kg.",
    "Bag drop closes 45 minutes before departure.",
]


@pytest.mark.parametrize(
    ("question", "limit_told"),
    [
        ("is a 35kg bag ok if i just pay the extra weight fee?", True),
        # 30 kg is within the limit, and a 26 kg bag is the example's: the limit is not their case.
        ("is a 30kg bag ok if i just pay the extra weight fee?", False),
        ("my bag is 26 kg and i paid for 23 kg, is that ok?", False),
    ],
)
def test_the_band_holding_the_customers_amount_joins_the_best_sentence_that_holds_none(
    monkeypatch: pytest.MonkeyPatch, question: str, limit_told: bool
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    # The example matches best; the charge, the advice after it and the limit nearly as well.
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in (0.93, 1.0, 0.95, 0.92, 0.0)])
    index, hit = one_passage("Excess weight", EXCESS_WEIGHT, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), question, [])
    assert EXCESS_WEIGHT[1] in found.texts
    assert (EXCESS_WEIGHT[3] in found.texts) is limit_told


def answer_start(units: list[str], vectors: np.ndarray, joined: str, own: str | None) -> str:
    """The unit an answer starts at, for a follow-up whose own message is ``own`` and which is
    searched joined to the one before (``joined``): the question's vector is ``[1, 0]``."""
    index, hit = one_passage("Section", units, vectors)
    found = evidence.select(index, hit, np.array([1.0, 0.0]), joined, [], own=own)
    assert units[2] not in found.texts  # far from the question: never the answer
    return found.texts[found.best]


CLAIMS = [
    "You can make up to 2 claims in any rolling 12 months.",
    "You can make a claim online or by calling our claims team on 555-0177.",
    "We review most claims within 5 days.",
]
# The claims line matches best; the limit on claims nearly as well.
CLAIM_VECTORS = np.array([[0.97, np.sqrt(1 - 0.97**2)], [1.0, 0.0], [0.0, 1.0]])


def test_a_follow_up_asks_for_the_kind_of_value_its_own_words_ask_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    joined = "I have Protect on my phone, how do I make a claim? and how many times can I claim in a year?"
    # Asked as a whole, "phone" asks for a way to reach the company: the claims line answers.
    assert answer_start(CLAIMS, CLAIM_VECTORS, joined, None) == CLAIMS[1]
    # The follow-up's own words ask how many: the answer starts at the limit.
    assert answer_start(CLAIMS, CLAIM_VECTORS, joined, "and how many times can I claim in a year?") == CLAIMS[0]


COMPENSATION = [
    "We don't pay compensation when a delay is caused by the weather.",
    "Submit compensation claims at skylark.example/claims within 6 months of the flight date.",
    "Delays of 3 hours or more within our control are compensated with $100 per passenger.",
]
SNOW_STORM = "my flight got delayed 4 hours in a snow storm can i claim compensation for that?"


@pytest.mark.parametrize(
    ("no", "nearness", "own", "starts_at_no"),
    [
        (COMPENSATION[0], 0.95, "can i claim compensation for that?", True),
        # A "no" that answers far less well, a question that asks how rather than whether, and
        # a "no" to something the question does not ask about leave the answer where it was.
        (COMPENSATION[0], 0.7, "can i claim compensation for that?", False),
        (COMPENSATION[0], 0.95, "how do i claim compensation for that?", False),
        (
            "We don't recommend driving to the airport in a snow storm.",
            0.95,
            "can i claim compensation for that?",
            False,
        ),
    ],
)
def test_a_yes_or_no_answer_starts_at_a_no_that_answers_nearly_as_well(
    monkeypatch: pytest.MonkeyPatch, no: str, nearness: float, own: str, starts_at_no: bool
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    units = [no, *COMPENSATION[1:]]
    vectors = np.array([[nearness, np.sqrt(1 - nearness**2)], [1.0, 0.0], [0.0, 1.0]])
    assert answer_start(units, vectors, SNOW_STORM, own) == (no if starts_at_no else COMPENSATION[1])


LOST_BIKE = [
    "The lost-bike fee is $1,200 for a classic bike.",
    "Report a stolen bike to the police first.",
    "We try to reach you by email before we charge.",
    "Bikes are checked every week.",
    "Missing parts are charged too.",
    "A bike not returned within 24 hours counts as lost.",
    "It is then blocked from every dock.",
    "Docks are cleaned every month.",
    "A missing basket costs $35.",
]


def lost_bike(units: list[str], cosines: list[float]) -> Any:
    """The last section of the lost-bike article (units 4 to 8), found with these cosines."""
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in cosines])
    entry = SimpleNamespace(outline=SimpleNamespace(units=units, lead_ins=(-1,) * len(units)), context_vectors=vectors)
    return SimpleNamespace(entry=entry, passage=Passage("Lost bikes", 4, 9, " ".join(units[4:])), score=0.8)


def test_a_unit_that_answers_better_stays_over_a_farther_one_that_answers_less() -> None:
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    # The fee stands in the article's first sentence and answers nearly as well as the best
    # unit, better than the basket's price three units after it: the price goes.
    hit = lost_bike(LOST_BIKE, [0.9, 0.1, 0.1, 0.1, 0.1, 0.95, 0.3, 0.1, 0.86])
    found = evidence.select(index, hit, QUESTION, "zzz?", [])
    assert found.texts == (LOST_BIKE[0], LOST_BIKE[5], LOST_BIKE[6])
    assert found.texts[found.best] == LOST_BIKE[5]
    # Where it answers as well as the best unit (``TIED``), the answer starts at it.
    tied = evidence.select(index, lost_bike(LOST_BIKE, [0.94, *[0.1] * 4, 0.95, 0.3, 0.1, 0.86]), QUESTION, "zzz?", [])
    assert tied.texts == found.texts and tied.texts[tied.best] == LOST_BIKE[0]
    # Two units after it, the price is the best one's neighbour, and stays before the fee.
    units = [*LOST_BIKE[:7], LOST_BIKE[8], LOST_BIKE[7]]
    near = evidence.select(
        index, lost_bike(units, [0.92, 0.1, 0.1, 0.1, 0.1, 0.95, 0.3, 0.88, 0.1]), QUESTION, "zzz?", []
    )
    assert near.texts == (units[5], units[6], units[7])


TURNING_TWO = [
    "Each adult can travel with one infant on their lap.",
    "Infants must be at least 7 days old to fly.",
    "If your child turns 2 before the return flight, they will need their own seat on that flight.",
    "A seat for your child costs the normal fare, and we refund the infant fee for that flight.",
    "Children can't travel on a lap once they have turned 2.",
]


@pytest.mark.parametrize(("opening", "joins"), [(0.92, True), (0.75, False)])
def test_a_short_sections_first_sentence_comes_with_a_later_one_that_answers_best(
    monkeypatch: pytest.MonkeyPatch, opening: float, joins: bool
) -> None:
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    # The section "If your child turns 2 during your trip" (units 2 to 4) is found; its last
    # sentence answers best, and the section's first sentence, which states its rule, less well.
    cosines = [0.97, 0.1, opening, 0.1, 1.0]
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in cosines])
    entry = SimpleNamespace(
        outline=SimpleNamespace(units=TURNING_TWO, lead_ins=(-1,) * len(TURNING_TWO)), context_vectors=vectors
    )
    hit: Any = SimpleNamespace(entry=entry, passage=Passage("Turning 2", 2, 5, " ".join(TURNING_TWO[2:])), score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, QUESTION, "she turns 2 on holiday, can she still sit on my lap?", [])
    assert found.texts[found.best] == TURNING_TWO[4]
    # Joining, it comes before the best one: the evidence reads as the section does. One that
    # answers far less well stays out.
    assert (TURNING_TWO[2] in found.texts) is joins
    assert not joins or found.texts[0] == TURNING_TWO[2]


def test_an_answer_to_two_questions_starts_where_it_holds_each_ones_answer() -> None:
    """The first question's evidence may hold, before its own best unit, the unit that answers
    the second: the joined answer starts there, so a restatement cannot leave it out."""
    from generation.answering.restate import Restatements  # noqa: PLC0415 - the answer this evidence allows

    hit: Any = SimpleNamespace()
    adult = "Someone aged 16 or over must be at home for the whole appointment."
    visit = "Occasionally we can't fit a smart meter on the first visit."
    again = "We'll arrange a return visit."
    access = "Please make sure the engineer can get to your meters."
    first = evidence.Evidence(hit=hit, units=(3, 8, 9), texts=(adult, visit, again), score=0.7, best=1)
    second = evidence.Evidence(hit=hit, units=(3, 4), texts=(adult, access), score=0.6, best=0)
    found = evidence.joined([first, second])
    assert found.texts == (adult, visit, again, access) and found.whole
    assert found.texts[found.best] == adult
    allowed = Restatements(
        found.texts, "does someone have to be in? could my son, 15, let the engineer in?", first=found.best
    )
    assert all(reply.startswith(adult) for reply in allowed.replies)
    # Where each question's answer comes after the first one's, the answer starts at the first's.
    later = evidence.Evidence(hit=hit, units=(9, 4), texts=(again, access), score=0.6, best=1)
    assert evidence.joined([first, later]).best == 1


def test_a_value_asked_for_that_the_best_unit_lacks_joins_from_the_passage() -> None:
    shape = outline(
        "## Banker's references\n\nA banker's reference is a letter we send to a landlord or a supplier about "
        "how you run your account. We'll only send one with your written permission. It costs £10.00 and we'll "
        "send it within 5 working days. This is different from an account confirmation letter, which is free.\n\n"
        "## Statements\n\nWe post paper statements within 5 working days."
    )
    what = next(i for i, u in enumerate(shape.units) if u.startswith("A banker's reference is"))
    # The sentence saying what a reference is matches best; the price joins it, not the free
    # letter (another thing) nor a sentence of another section.
    found = select_where_only(shape, what, "how much do you charge for a bankers reference?")
    assert "£10.00" in found.text and "confirmation letter" not in found.text and "paper" not in found.text
    assert found.texts[found.best] == shape.units[what]
    # Asked what a reference is, no value is asked for: the price has no part in the answer.
    plain = select_where_only(shape, what, "what is a bankers reference?")
    assert "£10.00" not in plain.text


def test_an_address_asked_for_joins_with_the_sentence_that_leads_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A passage too long to be the evidence whole, as a help centre's sections are.
    monkeypatch.setattr(evidence, "WHOLE_PASSAGE_CHARS", 0)
    shape = outline(
        "## Paying in a cheque by post\n\nFor cheques over £1,000, or once you reach the app's daily limit, you "
        "can post them to us. In the app, go to Payments > Pay in by post to print a paying-in slip, and send it "
        "with your cheque to:\n\nAcme Cheques, PO Box 7321, Leeds, LS1 9FB\n\nWe accept cheques of up to £50,000 "
        "each by post. Please don't send cash. We recommend a tracked postal service for larger amounts. If you "
        "can't print the slip, write your name and account number on a piece of paper instead."
    )
    post = next(i for i, u in enumerate(shape.units) if u.startswith("For cheques over"))
    # The sentence saying cheques can be posted matches best; the address, which shares no
    # word with the question, joins it, with the sentence that leads to it.
    found = select_where_only(shape, post, "where do i send it?")
    assert "PO Box 7321" in found.text and "send it with your cheque to:" in found.text
    assert found.texts[found.best] == shape.units[post]
    # Asked whether cheques can be posted, no place is asked for: the address stays out.
    assert "PO Box" not in select_where_only(shape, post, "can i post a cheque?").text


FROZEN = (
    "## Freezing your card\n\nIf you've misplaced your card, you can freeze it in Card > Freeze card. "
    "Freezing your card doesn't cancel it.\n\n"
    "## What still works\n\nWhile your card is frozen:\n\n"
    "- card payments and cash machine withdrawals will be declined.\n"
    "- recurring card payments, such as streaming subscriptions, will also be declined.\n"
    "- Direct Debits and standing orders still go out as normal.\n"
    "- you can still receive money into your account.\n"
)


@pytest.mark.parametrize(("item_cosine", "whole"), [(0.92, True), (0.85, False)])
def test_a_list_elsewhere_whose_items_answer_better_than_the_passage_found_comes_whole(
    item_cosine: float, whole: bool
) -> None:
    shape = outline(FROZEN)
    cancel = next(i for i, unit in enumerate(shape.units) if unit.startswith("Freezing"))
    items = [i for i, lead in enumerate(shape.lead_ins) if lead >= 0]
    nearness = [0.9 if i == cancel else item_cosine if i in items else 0.2 for i in range(len(shape.units))]
    entry = SimpleNamespace(outline=shape, context_vectors=np.array([[c, np.sqrt(1 - c * c)] for c in nearness]))
    passage = next(p for p in shape.passages if p.start <= cancel < p.end)
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.7)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, QUESTION, "if i freeze my card will my netflix still go out?")
    # Every case the list holds, declined and not, after its lead-in: one alone would read as the
    # only one. Where the passage found answers better, its sentence is the answer.
    assert found.whole is whole
    if whole:
        assert found.texts[0] == "While your card is frozen:" and len(found.texts) == 5
    else:
        assert shape.units[cancel] in found.texts


GUARANTEE = (
    "## Returned payments\n\nIf there isn't enough money when a Direct Debit is due, we'll try again at 2pm the same "
    "day. We won't charge you a fee for a returned Direct Debit. Each standing order payment can be up to £25,000.\n\n"
    "## The Direct Debit Guarantee\n\nIf a Direct Debit is taken in error, you're covered by the Direct Debit "
    "Guarantee. We'll refund you straight away, usually within 1 working day.\n"
)


def test_the_value_asked_for_comes_from_a_sentence_elsewhere_that_answers_nearly_as_well() -> None:
    shape = outline(GUARANTEE)
    fee = next(i for i, unit in enumerate(shape.units) if "a fee" in unit)
    refund = next(i for i, unit in enumerate(shape.units) if "straight away" in unit)
    found = select_where_two(shape, fee, refund, 0.9, "they took too much, how quick can i get that back?")
    # How long the refund takes, from the guarantee's section, not only the passage found's
    # "2pm the same day", which is when a payment is tried again.
    assert shape.units[refund] in found.texts


REPLACEMENTS = (
    "## Replacement cards\n\n| Replacement | Cost |\n|---|---|\n"
    "| First two damaged-card replacements in any 12 months | Free |\n"
    "| Third and later damaged-card replacements in 12 months | £5.00 per card |\n"
    "| Standard delivery (3 to 5 working days) | Free |\n"
    "| Express delivery (next working day) | £7.50 |\n"
)


def test_the_rows_kept_beside_the_best_are_those_that_answer_best_wherever_they_stand() -> None:
    shape = outline(REPLACEMENTS)
    rows = [i for i, unit in enumerate(shape.units) if unit.startswith("Replacement:")]
    first, third, standard, express = rows
    nearness = {third: 1.0, express: 0.97, first: 0.95, standard: 0.95}
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in (nearness.get(i, 0.2) for i in range(len(shape.units)))])
    entry = SimpleNamespace(outline=shape, context_vectors=vectors)
    passage = next(p for p in shape.passages if p.start <= third < p.end)
    hit: Any = SimpleNamespace(entry=entry, passage=passage, score=0.8)
    index: Any = SimpleNamespace(bm25=SimpleNamespace(idf={}))
    found = evidence.select(index, hit, QUESTION, "can i get it quicker? how much is that")
    # Another row is another case, whether it stands next to the best one or two rows down: the
    # express row answers "quicker" better than the standard one beside it.
    assert shape.units[express] in found.texts and shape.units[third] in found.texts
