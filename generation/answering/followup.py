"""Follow-ups: "And how much does that cost?" after a question about express shipping is about
express shipping. Retrieval then searches with the customer's previous question and this one
together; when this one asks for a kind of value (a duration, an amount...), the previous
question's own asking for a value ("how much", "cost") is left out, so that the subject
carries over and the question asked is this one's.

A follow-up to a follow-up ("how long?" after "how much?" after "do you ship
internationally?") keeps the first message's subject.

A message depends on the one before when it opens like a continuation ("and", "what about",
"ok and", "also"), or is short and leans on something said before ("it", "that", "there", "one"),
or has almost no words of its own and names nothing the help centre never mentions ("Can I pay
in bitcoin?" is a new topic; "how much is it to watch netflix on it" leans on the wifi asked
about before); otherwise it stands alone. What a follow-up names is checked against the
passage found however sure the search (generation/answering/policy.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from generation.answering import answer_types, smalltalk
from generation.answering.prompt import Turn
from generation.knowledge.bm25 import tokenize

_CONTINUATION = re.compile(
    r"^\s*(?:(?:ok(?:ay)?|so|and|but|also|then|oh|great|thanks|cool|right|alright)\b[,!.]?\s*)*"
    r"(?:and|also|what about|how about|what if|and if|but if|same for|plus|or)\b",
    re.IGNORECASE,
)
_LEANS_ON = re.compile(
    r"\b(?:it|its|it's|that|this|those|these|they|them|there|one|ones|he|she|him|her)\b"
    # "do i have to pay the exit fee then?", "can i still cancel?", "what do i do in the meantime?":
    # words that say "in the case just told of".
    r"|\b(?:then|still|instead|in the meantime|meanwhile)\b",
    re.IGNORECASE,
)
# "does the same go for joint accounts?", "same rules for students?": the case before, applied
# to another.
_SAME = re.compile(
    r"\bsame (?:(?:thing|rules?|limits?) )?(?:(?:go(?:es)?|appl(?:y|ies)) )?(?:for|to|with)\b", re.IGNORECASE
)
# What the earlier question asked for, left out of a follow-up's subject: its question words and
# asking phrases ("how much", "what's the fee for"), not the things it names ("charge", "phone").
_ASKING = re.compile(rf"\bhow (?:much|long|many|{answer_types.SPEED})\b|\bwhat time\b|\bcosts?\b", re.IGNORECASE)
SHORT_WORDS = 12
# How far back a chain of follow-ups is followed, in turns of the conversation.
CHAIN_TURNS = 12
OWN_WORDS = 2


def _never(_: str) -> bool:
    return False


def depends_on_earlier(message: str, *, new_topic: Callable[[str], bool] = _never) -> bool:
    """Whether ``message`` leans on the one before: it opens as a continuation, or is short
    and points back ("it", "that"), or has almost no words of its own and ``new_topic`` says it
    names nothing of its own ("Can I pay in bitcoin?" after a question about the warranty)."""
    if _CONTINUATION.match(message) or _SAME.search(message):
        return True
    words = message.split()
    if len(words) <= SHORT_WORDS and _LEANS_ON.search(message):
        return True
    return len(tokenize(message)) <= OWN_WORDS and not new_topic(message)


def continues(message: str) -> bool:
    """Whether ``message`` opens as a continuation of the one before ("and if I have Flex?",
    "what about to Canada?") or applies its case to another ("same for students?")."""
    return bool(_CONTINUATION.match(message) or _SAME.search(message))


def _as_written(text: str) -> str:
    return text


def retrieval_query(
    history: Sequence[Turn],
    *,
    new_topic: Callable[[str], bool] = _never,
    joined: bool = False,
    mend: Callable[[str], str] = _as_written,
) -> tuple[str, bool]:
    """What to search for to answer the last turn of ``history``, and whether it is a follow-up
    (the previous customer message and this one together). ``joined``: the two together
    whenever there is an earlier message and this one names nothing new, as the policy asks
    when the message alone finds no sure match. Whether a message leans on the one before is
    read with its typos mended (``mend``): "what aboat the e-bikes?" is "what about"."""
    question = history[-1].text if history else ""
    asked_before = [i for i, t in enumerate(history[:-1]) if t.role == "customer" and t.text.strip()]
    leans = depends_on_earlier(mend(question), new_topic=new_topic) if not joined else not new_topic(question)
    # "how much is it to ship?" after "Hi, I wonder if you can help me": the message before
    # asked for the question and names nothing to lean on.
    if asked_before and leans and not smalltalk.only_announces(history[asked_before[-1]].text):
        # "how long?" after "how much?" after "do you ship internationally?": the message before
        # is a follow-up too, and its subject carries over with it (a few messages back at most).
        # What only wraps it goes ("Hello, I wonder if you could help. My card snapped.").
        subject = smalltalk.unwrapped(history[asked_before[-1]].text)
        if len(asked_before) > 1 and len(history) < CHAIN_TURNS:
            subject = retrieval_query(history[: asked_before[-1] + 1], new_topic=new_topic, mend=mend)[0]
        if answer_types.asked(question) is not None:
            for kind in answer_types.TYPES:
                subject = kind.asks_only.sub(" ", subject)
            subject = _ASKING.sub(" ", subject)
            # What is left of an asking phrase alone ("how much?" -> "?") goes with it.
            subject = " ".join(w for w in subject.split() if any(c.isalnum() for c in w))
        return f"{subject} {question}", True
    return question, False
