"""What kind of value a question asks for, and whether a sentence states one: evidence
selection prefers the sentence that does, and a passage stating none does not answer a question
that asks for nothing else."""

from __future__ import annotations

import pytest

from generation.answering import answer_types


@pytest.mark.parametrize(
    ("question", "kind", "only"),
    [
        ("How long does express shipping take?", "wait", "wait"),
        ("cancelled my flex ticket on monday, how long till the refund hits my card", "wait", "wait"),
        ("how soon will my order arrive?", "wait", "wait"),
        ("how quick can i get that back from you", "wait", "wait"),
        ("How long do I have to return it?", "duration", "duration"),
        ("how far ahead do I need to tell you", "duration", "duration"),
        ("How much notice do you need before I move?", "duration", "duration"),
        ("How old do I have to be to rent a bike?", "age", "age"),
        ("my son is 17, is he allowed on the electric ones?", "age", None),
        ("do I need to be there? my 16 year old son will be home", "age", None),
        ("How much is express shipping?", "money", "money"),
        ("whats the cheapest boiler cover you do", "money", None),
        ("do i have to pay anything for that?", "money", None),
        # A way of paying names no price: "what do i get back?" asks for nothing of a kind.
        ("the tram was 40 mins late, what do i get back? i pay as i go", None, None),
        ("What time do you open on Sundays?", "clock", "clock"),
        ("what times are the valets at union square?", "clock", "clock"),
        ("what limits can i set?", "count", None),
        ("left my backpack in the basket!! where do I go to pick it up", "place", None),
        ("What's the street address of your Westgate store?", "place", "place"),
        ("Can you change the email address on my account?", "contact", None),
        ("Can I return a tent I have used?", None, None),
        # When something comes is asked as a wait, but may be answered without one ("once the
        # return reaches us"): never the only thing asked.
        ("made a complaint last week, when should i of heard back from you?", "wait", None),
        ("When will I get my refund?", "wait", None),
        # A size or a weight: never the only thing asked ("what size boots?": "half a size up").
        ("what size of crack should i worry about?", "size", None),
        ("how heavy can my suitcase be?", "size", None),
        ("whats the biggest bag i can bring on then?", "size", None),
        ("How much does the carry-on bag weigh?", "size", None),
        ("How much is a bag weighing 25kg?", "money", "money"),
        ("How big is the discount?", "percent", None),
        # How often: never the only thing asked ("every 2 seasons", "after each trip").
        ("is there a metro all night on fridays and how often do they come", "frequency", None),
        ("How often should I reproof my tent fly?", "frequency", None),
    ],
)
def test_the_kind_of_value_a_question_asks_for(question: str, kind: str | None, only: str | None) -> None:
    asked = answer_types.asked(question)
    asked_only = answer_types.asked(question, only=True)
    assert (asked.name if asked else None) == kind
    assert (asked_only.name if asked_only else None) == only


@pytest.mark.parametrize(
    ("kind", "text", "states"),
    [
        ("age", "The installation needs someone aged 18 or over at home.", True),
        ("age", "Riders must be 16 years old or older.", True),
        ("age", "Children under 14 ride with an adult.", True),
        ("age", "Each plan includes 18 GB of data.", False),
        ("age", "Call us on 555-0123.", False),
        ("place", "Everything our crews find is taken to the Spokes Hub at 88 Canal Street.", True),
        ("place", "Send it to 1200 Harbor View Road, Riverton.", True),
        ("place", "Our office is at Unit 4, Harbour Park, Bristol BS1 4QA.", True),
        ("place", "Write to PO Box 310, Portland, OR 97205.", True),
        ("place", "Our Westgate store is next to the library.", False),
        ("place", "Each plan includes 18 GB of data.", False),
        ("clock", "The boarding gate closes 20 minutes before departure.", True),
        ("clock", "We open at 9 am on weekdays.", True),
        ("clock", "Refunds take 20 minutes to process.", False),
        # How long something takes; a deadline says until when one may do it.
        ("wait", "We process refunds within 7 business days of your request.", True),
        ("wait", "Flex fares can be cancelled up to 2 hours before departure for a full refund.", False),
        ("duration", "Flex fares can be cancelled up to 2 hours before departure for a full refund.", True),
        # Pence are money: "how much do you pay per kWh?" is answered by "15p per kWh".
        ("money", "We pay 15p per kWh for every unit you export.", True),
        ("money", "The standing charge is 48.5 pence a day.", True),
        ("money", "The engineer arrives between 8 am and 1 p.m. on the day.", False),
        # A wait is said with a word before it or as a range; a bare duration is a period, and
        # "10 years old" an age.
        ("wait", "Target attendance time: Within 4 hours.", True),
        ("wait", "Refunds take 5 to 7 business days.", True),
        ("wait", "Orders arrive in 3-5 working days.", True),
        ("wait", "Your account is locked for 30 minutes.", True),
        ("wait", "If your boiler is less than 10 years old, we pay towards a new one.", False),
        ("wait", "Boilers that haven't been serviced in the last 12 months.", False),
        # A count of time in words is one too; "a" counts one only where a wait is framed.
        ("wait", "We'll respond within one month.", True),
        ("wait", "A new card usually takes two weeks to arrive.", True),
        ("wait", "We'll call you back within an hour.", True),
        ("duration", "You have fourteen days to change your mind.", True),
        ("duration", "Paperless billing costs $2 a month less.", False),
        ("wait", "Paperless billing costs $2 a month less.", False),
        # Pence are a price; a video's "1080p" is no amount of them.
        ("money", "Harbour SunShare: 15p per kWh for every unit you export.", True),
        ("money", "The standing charge is 53.35p a day.", True),
        ("money", "Unlimited streams video at up to 1080p, while Unlimited Max streams at up to 4K.", False),
        ("size", "Cracks wider than 3mm should be checked by a surveyor.", True),
        ("size", "Cabin bags can be up to 55 x 40 x 20 cm and 10 kg.", True),
        ("size", "We open at 9 am.", False),
        # "Any one item" counts nothing; "one account" does.
        ("count", "The single article limit is the most we'll pay for any one item.", False),
        ("count", "No one will call you.", False),
        ("count", "You can have one account per email.", True),
        # A frequency: "every night" says on which nights, not how often a train comes.
        ("frequency", "The M1 line runs all night, with trains every 15 minutes.", True),
        ("frequency", "We update exchange rates once a day.", True),
        ("frequency", "Routes N1 and N3 run every 20-30 minutes.", True),
        ("frequency", "Our night buses run every night of the week.", False),
    ],
)
def test_a_sentence_states_an_age_a_place_a_time_a_wait_a_size_or_a_count(kind: str, text: str, states: bool) -> None:
    assert bool(answer_types.named(kind).states.search(text)) is states
