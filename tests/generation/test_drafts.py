"""Suggested replies for staff: drafts from the knowledge base for the customer's latest
question, never the bot's handoff lines."""

from __future__ import annotations

import pytest

from generation.answering import phrases
from generation.answering.drafts import draft_replies
from generation.answering.policy import Responder
from generation.answering.prompt import Turn
from generation.knowledge.index import get_index
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def responder() -> Responder:
    factories.shipping_article()
    return Responder(
        index=get_index(), engine=None, company="Tidewater Outfitters", min_confidence=0.55, sure_confidence=0.75
    )


def test_drafts_answer_the_question_with_the_articles_facts(responder: Responder) -> None:
    drafts = draft_replies(responder, [Turn("customer", factories.KB_QUESTION)])
    assert 1 <= len(drafts) <= 3
    assert "$19.95" in drafts[0]
    assert len(set(drafts)) == len(drafts)


def test_drafts_answer_the_question_before_a_customers_thanks_or_order_number(responder: Responder) -> None:
    history = [
        Turn("customer", factories.KB_QUESTION),
        Turn("assistant", phrases.HANDOFF_UNKNOWN),
        Turn("agent", "Let me check that for you."),
        Turn("customer", "Sure, it's order TW-48213. Thanks Sam!"),
    ]
    drafts = draft_replies(responder, history)
    assert drafts and "$19.95" in drafts[0]
    assert not any(phrases.HANDOVER in d for d in drafts)


def test_no_drafts_for_what_the_knowledge_base_does_not_cover(responder: Responder) -> None:
    assert draft_replies(responder, [Turn("customer", "Can I bring my parrot to the kayak tour?")]) == []
    assert draft_replies(responder, [Turn("customer", "I want to talk to a human")]) == []
    assert draft_replies(responder, [Turn("customer", "Hello!")]) == []
