"""The replies a restating model may write, and how decoding is kept to them."""

from __future__ import annotations

from generation.answering import phrases
from generation.answering.followup import depends_on_earlier, retrieval_query
from generation.answering.gate import MAX_SENTENCES
from generation.answering.prompt import Turn
from generation.answering.restate import EagerStream, Restatements
from generation.knowledge.spelling import Speller

UNITS = [
    "PayPal is available in the app only, not at station kiosks.",
    "We accept Visa and Mastercard at every kiosk.",
    "Your receipt is emailed after each ride.",
]


def test_a_reply_is_the_evidence_from_its_best_unit_or_before_in_the_articles_order() -> None:
    allowed = Restatements(UNITS, "Which cards do you take at the kiosk?", first=1)
    assert allowed.complete(f"{UNITS[1]} {UNITS[2]}")
    assert allowed.complete(" ".join(UNITS))  # the model may keep the unit before...
    assert not allowed.complete(UNITS[1])  # ...but keeps what follows the best one
    assert not allowed.complete(f"{UNITS[0]} {UNITS[1]}")
    assert not allowed.complete(UNITS[0])  # and never leaves out the unit that answers best
    assert not allowed.allows(f"{UNITS[1]} {UNITS[0]}")  # nor change the article's order
    assert not allowed.allows(f"{UNITS[1]} {UNITS[1]}")
    assert not allowed.allows("We accept Visa and Amex")
    assert allowed.allows("We accept Vi") and not allowed.complete("We accept Vi")
    assert not allowed.allows(phrases.NOT_FOUND)


def test_yes_and_no_lead_only_a_yes_no_question_about_what_the_unit_says() -> None:
    paypal = Restatements(UNITS, "can i pay with paypal at the kiosk machine?", first=0)
    assert paypal.complete(f"No, PayPal is available in the app only, not at station kiosks. {UNITS[1]} {UNITS[2]}")
    assert not paypal.allows("Yes, PayPal")
    cards = Restatements(UNITS, "can i pay with paypal at the kiosk machine?", first=1)
    # The Visa sentence says nothing about PayPal: no "Yes" (nor "No") may lead it.
    assert not cards.allows("Yes,") and not cards.allows("No,")
    receipts = Restatements(UNITS, "Is my receipt emailed after each ride?", first=2)
    assert receipts.complete("Yes, your receipt is emailed after each ride.")
    assert not receipts.allows("Yes, Your")  # an ordinary first word is lowered after the lead
    assert not Restatements(UNITS, "When is my receipt emailed?", first=2).allows("Yes")


def test_a_word_the_articles_never_use_is_what_a_yes_no_question_is_about() -> None:
    unit = "At Skylark airports the departure gate is shown on the screens an hour before departure."
    articles = {"skylark", "airport", "airports", "departure", "gate", "shown", "screens", "hour", "before"}
    question = "does skylark have a lounge at the airport i can use before my flight"
    # By English rarity alone the company's name is the rarest word, and the sentence holds it.
    assert Restatements([unit], question).allows("Yes,")
    lounge = Restatements([unit], question, known=lambda w: w.lower() in articles)
    assert not lounge.allows("Yes,") and not lounge.allows("No,")
    gate = Restatements([unit], "is the departure gate shown on the screens?", known=lambda w: w.lower() in articles)
    assert gate.allows("Yes,")


def test_a_yes_no_question_after_a_clause_of_context_may_get_a_yes() -> None:
    cello = "Instruments too big for the overhead locker can travel in the cabin on their own seat."
    question = "my instrument is too big for the locker, can it travel in the cabin on its own seat?"
    assert Restatements([cello], question).allows("Yes, ")


def test_the_model_may_not_decline_the_evidence_it_is_given() -> None:
    # Whether the evidence answers is decided before the model runs (the policy's handoffs).
    assert not Restatements(UNITS, "Do you take bitcoin?", first=1).allows("I'm sorry")


def test_a_lost_reply_is_steered_back_with_the_text_it_still_needs() -> None:
    allowed = Restatements(UNITS, "receipt?", first=2)
    assert allowed.continuation("Your receipt is") == " emailed after each ride."
    assert allowed.continuation(UNITS[2]) == ""
    # Steered from nothing, a reply goes to the shortest answer: the run from the best unit.
    assert allowed.continuation("") == UNITS[2]


def test_follow_ups_are_searched_with_the_question_before() -> None:
    assert depends_on_earlier("and how much does that cost?")
    assert depends_on_earlier("what about students")
    assert depends_on_earlier("ok and on weekends?")
    assert not depends_on_earlier("How long does a refund take to reach my card?")
    # "Then", "still", "in the meantime": in the case the customer has just told of.
    assert depends_on_earlier("do i have to pay the exit fee then?")
    assert depends_on_earlier("can i still cancel without paying anything?")
    assert depends_on_earlier("can u do anything to help in the meantime?")
    assert not depends_on_earlier("can i cancel without paying anything?")
    # "The same" for another case: the rule asked about before, for joint accounts.
    assert depends_on_earlier("does the same go for joint accounts? me and my wife both want to get cash out tomorrow")
    assert depends_on_earlier("same rules for my wife?")
    assert not depends_on_earlier("can i get same day delivery to london and how much would it cost me?")
    # Short, but about something the help centre never mentions: a new topic.
    assert depends_on_earlier("Can I pay in bitcoin?")
    assert not depends_on_earlier("Can I pay in bitcoin?", new_topic=lambda text: "bitcoin" in text)
    # Naming something new, but leaning on what was said: "it" is the wifi asked about before.
    assert depends_on_earlier("how much is it to watch netflix on it", new_topic=lambda text: "netflix" in text)
    history = [
        Turn("customer", "How fast is express shipping?"),
        Turn("assistant", "Express shipping takes 1 to 2 business days."),
        Turn("customer", "And how much does it cost?"),
    ]
    # The subject carries over; the earlier question's "how fast" does not, this one asks "how much".
    assert retrieval_query(history) == ("is express shipping? And how much does it cost?", True)
    history[2] = Turn("customer", "what about to Canada?")
    assert retrieval_query(history) == ("How fast is express shipping? what about to Canada?", True)
    assert retrieval_query(history[:1]) == ("How fast is express shipping?", False)
    # What the earlier message names stays, even a word that can ask for a value ("charge", "phone").
    history = [
        Turn("customer", "There's a charge on my bill I don't recognise"),
        Turn("assistant", "..."),
        Turn("customer", "how long do you take to look into it"),
    ]
    assert retrieval_query(history)[0].startswith("There's a charge on my bill")
    history[0] = Turn("customer", "Will my phone work in Toronto?")
    history[2] = Turn("customer", "I'm on Plus, what will that cost me?")
    assert retrieval_query(history)[0].startswith("Will my phone work in Toronto?")


def test_a_follow_up_to_a_follow_up_keeps_the_first_subject() -> None:
    history = [
        Turn("customer", "Do you ship internationally?"),
        Turn("assistant", "We ship to Canada ..."),
        Turn("customer", "how much?"),
        Turn("assistant", "It costs a flat $24.95."),
        Turn("customer", "how long?"),
    ]
    # "how much?" is left out of the subject, as this message asks "how long?".
    assert retrieval_query(history) == ("Do you ship internationally? how long?", True)
    # A message that stands alone starts a new subject.
    history[2] = Turn("customer", "What is the warranty on Tidewater tents?")
    assert retrieval_query(history) == ("What is the warranty on Tidewater tents? how long?", True)


def test_a_follow_up_leans_on_what_the_message_before_asked_not_on_its_wrapping() -> None:
    history = [
        Turn("customer", "Hi, I wonder if you can help me"),
        Turn("assistant", phrases.SMALLTALK_REPLIES["question"]),
        Turn("customer", "how much is it to ship?"),
    ]
    # The message before only asked for the question: this one is searched alone.
    assert retrieval_query(history) == ("how much is it to ship?", False)
    # What the message before names stays, without its greeting and plea.
    history[0] = Turn("customer", "Hello, I wonder if you could help. I bought a tent from you.")
    assert retrieval_query(history) == ("I bought a tent from you. how much is it to ship?", True)
    history[0] = Turn("customer", "I have a question about my order")
    assert retrieval_query(history)[0] == "I have a question about my order how much is it to ship?"


def test_a_restatement_streams_word_by_word_and_is_never_taken_back() -> None:
    allowed = Restatements(UNITS, "Which cards do you take at the kiosk?", first=1)
    shown: list[str] = []
    eager = EagerStream(allowed, shown.append)
    eager.feed("We accept Vi")
    # Before the sentence is complete; the half word goes out whole, since the evidence
    # finishes it one way only.
    assert "".join(shown) == "We accept Visa"
    eager.feed(f"{UNITS[1]} Your rec")
    assert "".join(shown) == f"{UNITS[1]} Your receipt"
    reply = eager.finish(f"{UNITS[1]} {UNITS[2]}")
    assert reply == f"{UNITS[1]} {UNITS[2]}" == "".join(shown)


def test_a_half_word_that_the_evidence_finishes_two_ways_waits_for_the_model() -> None:
    units = ["Returns are free.", "Returns are free within 30 days of delivery."]
    allowed = Restatements(units, "Are returns free?", first=1)
    shown: list[str] = []
    eager = EagerStream(allowed, shown.append)
    eager.feed("Re")
    assert "".join(shown) == "Returns"  # every allowed reply finishes the word the same way
    eager.feed("Returns are fr")
    assert "".join(shown) == "Returns are"  # "free." or "free within": the model decides
    eager.feed("Returns are free w")
    assert "".join(shown) == "Returns are free within"
    assert eager.finish("Returns are free within 30 days of delivery.") == units[1] == "".join(shown)


def test_a_restatement_cut_short_is_finished_from_the_evidence() -> None:
    allowed = Restatements(UNITS, "Which cards do you take at the kiosk?", first=1)
    shown: list[str] = []
    eager = EagerStream(allowed, shown.append)
    eager.feed("We accept Visa and")
    reply = eager.finish("We accept Visa and")  # the model ran out of time here
    assert reply is not None and allowed.complete(reply)
    assert reply == "".join(shown) and reply.startswith("We accept Visa and")


def test_a_streamed_reply_ends_after_the_last_sentence_allowed() -> None:
    units = [f"Rule {n} applies to every ride." for n in range(1, 6)]
    allowed = Restatements(units, "What are the rules?", first=0)
    shown: list[str] = []
    eager = EagerStream(allowed, shown.append)
    eager.feed(" ".join(units[:4]))
    assert eager.full
    reply = eager.finish(" ".join(units[:4]))
    assert reply == " ".join(units[:MAX_SENTENCES]) == "".join(shown)
    # A list's reply may run longer: every item it was given, and then no more.
    shown.clear()
    listed = EagerStream(allowed, shown.append, max_sentences=5)
    listed.feed(" ".join(units[:4]))
    assert not listed.full
    assert listed.finish(" ".join(units[:4])) == " ".join(units) == "".join(shown)


def test_a_follow_up_typed_in_a_hurry_is_read_with_its_typos_mended() -> None:
    english = dict.fromkeys(["what", "the", "about", "bikes", "electric", "do", "you", "run", "in"], 10**5)
    speller = Speller(["Spokes keeps running all winter. About half of the electric fleet rests."], english=english)
    history = [
        Turn("customer", "do you still run in the winter?"),
        Turn("assistant", "Spokes keeps running all winter."),
        Turn("customer", "what aboat the eelctric bikes?"),
    ]
    assert retrieval_query(history, mend=speller.correct) == (
        "do you still run in the winter? what aboat the eelctric bikes?",
        True,
    )
