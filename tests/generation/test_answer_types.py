"""What kind of value a question asks for, and whether a sentence states one: evidence
selection prefers the sentence that does, and a passage stating none does not answer a question
that asks for nothing else."""

from __future__ import annotations

import pytest

from generation.answering import answer_types


@pytest.mark.parametrize(
    ("question", "kind", "only"),
    [
        ("How long does express shipping take?", "duration", "duration"),
        ("how far ahead do I need to tell you", "duration", "duration"),
        ("How much notice do you need before I move?", "duration", "duration"),
        ("How old do I have to be to rent a bike?", "age", "age"),
        ("my son is 17, is he allowed on the electric ones?", "age", None),
        ("do I need to be there? my 16 year old son will be home", "age", None),
        ("How much is express shipping?", "money", "money"),
        ("What time do you open on Sundays?", "clock", "clock"),
        ("Can I return a tent I have used?", None, None),
    ],
)
def test_the_kind_of_value_a_question_asks_for(question: str, kind: str | None, only: str | None) -> None:
    asked = answer_types.asked(question)
    asked_only = answer_types.asked(question, only=True)
    assert (asked.name if asked else None) == kind
    assert (asked_only.name if asked_only else None) == only


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("The installation needs someone aged 18 or over at home.", True),
        ("Riders must be 16 years old or older.", True),
        ("Children under 14 ride with an adult.", True),
        ("Each plan includes 18 GB of data.", False),
        ("Call us on 555-0123.", False),
    ],
)
def test_a_sentence_states_an_age(text: str, states: bool) -> None:
    age = next(kind for kind in answer_types.TYPES if kind.name == "age")
    assert bool(age.states.search(text)) is states
