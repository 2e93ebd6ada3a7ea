"""Evidence from elsewhere, where the best passage's lacks what the question asks.

A support agent who reads "see Your excess explained" follows the link, and one asked how to
do something looks for the way to do it: so does the answer. Evidence that sends the reader to
one other article for the kind of value asked is what that article says (``followed``), and
asked how to do something, evidence that gives no way to do it yields to a passage of the same
article that gives a menu path (``way_elsewhere``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from generation.answering import answer_types
from generation.answering import evidence as evidence_of
from generation.answering.evidence import Evidence
from generation.answering.searching import SEARCH_DEPTH
from generation.knowledge.index import KnowledgeIndex, PassageHit

# A passage of the best one's article that states the kind of value asked for, where the best
# does not, answers in its place when it scores within this of it ("how long till the refund
# hits my card?": the section "How long refunds take", behind the one on cancelling a Flex
# fare, which says until when one may).
VALUE_ELSEWHERE_MARGIN = 0.15
# "How do I book ...?", "how can we change ...?": a question how to do something (not "how do I
# know ..."), answered by a way to do it: a menu path of the app or website ("Manage booking >
# Special assistance"), a number to call, an address.
_ASKS_HOW_TO = re.compile(r"\bhow (?:do|can|should|would|could) (?:i|we)\b(?!\s+(?:know|tell)\b)", re.IGNORECASE)
_MENU_PATH = re.compile(r"\w > \w")


def _states_a_way(text: str) -> bool:
    """Whether ``text`` gives a way to do something: a menu path or a way to contact the company."""
    return bool(_MENU_PATH.search(text)) or answer_types.CONTACT.states.search(text) is not None


def followed(index: KnowledgeIndex, found: Evidence, query: str, vector: np.ndarray) -> Evidence:
    """``found``, or, where the answer it makes lacks the kind of value the question asks for
    and sends the reader to one other article for it ("This means a higher excess applies
    to flood claims - see Your excess explained"), what that article says, if it states
    such a value: a support agent follows the link, and so does the answer. ("What does a
    flood endorsement mean?" asks for no value: the sentence answers it.)"""
    kind = answer_types.asked(query)
    if kind is None or any(kind.states.search(text) for text in found.answering):
        return found
    entries = [e for e in index.entries if e is not found.hit.entry]
    titles = [e.title for e in entries]
    sent = {i for text in found.answering for i in evidence_of.sends_to(text, titles)}
    if len(sent) != 1:
        return found
    hits = index.search(query, k=SEARCH_DEPTH, vector=vector, within=entries[sent.pop()])
    if not hits:
        return found
    there = evidence_of.select(index, hits[0], vector, query, hits[1:])
    return there if kind.states.search(there.text) else found


def way_elsewhere(
    index: KnowledgeIndex,
    found: Evidence,
    *,
    question: str,
    hits: Sequence[PassageHit],
    vector: np.ndarray,
    query: str,
) -> Evidence:
    """``found``, or, where ``question`` asks how to do something ("how do i book a
    wheelchair at the airport?") and the answer it makes states no way to (a menu path, a
    number to call, an address), the evidence of the best passage of the same article
    within ``VALUE_ELSEWHERE_MARGIN`` whose passage gives a menu path, if its answer gives a
    way ("Please request it at least 48 hours before departure in Manage booking > Special
    assistance")."""
    if not _ASKS_HOW_TO.search(question) or any(_states_a_way(t) for t in found.answering):
        return found
    top = hits[0]
    way = evidence_of.runner_up(
        hits,
        VALUE_ELSEWHERE_MARGIN,
        lambda h: h.entry is top.entry and _MENU_PATH.search(h.passage.text) is not None,
    )
    if way is None:
        return found
    there = evidence_of.select(index, way, vector, query)
    return there if any(_states_a_way(t) for t in there.answering) else found
