"""The questions of one message: "how much is express shipping and how long does it take?"
asks two things, and each is searched and answered on its own (generation/answering/policy.py).

A message is cut after each question mark, and before "and", "also" or "plus" where a question
opens after it ("and how long ...", "also do you ..."); an opening "I have two questions:" goes.
Only a message with two or three parts that each ask something is split: "can I return boots
and sandals?" is one question.

The parts of a message that ask are told from those that tell (``asking_part``): a place the
customer only tells of ("visiting my dad in phoenix, is that allowed?") is no topic the help
centre lacks (generation/answering/policy.py).

A question whether the company has, offers or includes something names a thing ("do you have
a lounge?", "is the class offered in Spanish?"): a passage that never speaks of it does not
answer it (``thing_asked_for``, used by generation/answering/policy.py).
"""

from __future__ import annotations

import re

from generation.knowledge.bm25 import STOPWORDS, tokenize

MAX_QUESTIONS = 3
_OPENER = (
    r"(?:how|what|what's|whats|when|where|which|who|why|can|could|do|does|did|am|is|are|will|would|should|may|"
    r"is there|are there)\b"
)
_AFTER_QUESTION_MARK = re.compile(r"(?<=\?)\s+")
_JOINED = re.compile(rf",?\s+(?:and|also|plus)\s+(?={_OPENER})", re.IGNORECASE)
# A message that asks something: a question mark, or the opening of a question.
_ASKS = re.compile(
    rf"\?|^\W*(?:(?:and|but|so|ok|okay|also|plus)\W+)*(?:{_OPENER}|(?:was|were|might|have|has|any)\b)",
    re.IGNORECASE,
)
_PREFACE = re.compile(
    r"^\W*(?:(?:hi|hello|hey)(?: there)?\W+)?i(?:'ve| have)(?: got)? (?:two|2|three|3|a few|some|a couple of) "
    r"(?:quick )?questions?\s*[:,.\-–]?\s*",
    re.IGNORECASE,
)
_LEADING_AND = re.compile(r"^\W*(?:and|also|plus)\W+", re.IGNORECASE)


def asks(text: str) -> bool:
    """Whether ``text`` asks something ("why?", "and how long does it take"), rather than says it."""
    return bool(_ASKS.search(text))


# A message's parts: its sentences, and a question opening after a comma, semicolon or dash
# inside one ("we're going to a wedding in miami, can i book us all online?").
_PART = re.compile(rf"(?<=[.!?])\s+|\s*(?:[,;]|\s[-–—])\s+(?={_OPENER})", re.IGNORECASE)


def asking_part(message: str) -> str:
    """The parts of ``message`` that ask something, joined ("can you mail me my sunglasses? i'm
    back home in ohio now" -> "can you mail me my sunglasses?"); ``message`` itself when every
    part asks something, or none does."""
    parts = [p for p in _PART.split(message) if p.strip()]
    asking = [p for p in parts if asks(p)]
    return message if not asking or len(asking) == len(parts) else " ".join(asking)


def telling_part(message: str) -> str:
    """The parts of ``message`` that tell rather than ask, joined ("i made a complaint 9 weeks
    ago, nobody calls me back"); empty when every part asks something."""
    return " ".join(p for p in _PART.split(message) if p.strip() and not asks(p))


def split(message: str) -> list[str]:
    """The questions ``message`` asks, in order; ``[message]`` when it asks one (or more than
    ``MAX_QUESTIONS``, a list that reads as one request)."""
    text = _PREFACE.sub("", message.strip())
    parts = [
        piece.strip()
        for sentence in _AFTER_QUESTION_MARK.split(text)
        for piece in _JOINED.split(sentence)
        if piece.strip()
    ]
    asking = [p for p in parts if asks(p) and tokenize(p)]
    if not 2 <= len(asking) <= MAX_QUESTIONS or len(asking) != len(parts):
        return [message]
    # "... and how long do refunds take?" stands alone unless it leans on the question before
    # ("and how long does it take?": generation/answering/followup.py decides).
    return [asking[0], *(_LEADING_AND.sub("", p) if not leans(p) else p for p in asking[1:])]


_PRONOUN = re.compile(r"\b(?:it|that|this|they|them|those|these|one)\b", re.IGNORECASE)


def leans(part: str) -> bool:
    """Whether ``part`` speaks of something said before it ("is it covered?", "and that?")."""
    return bool(_PRONOUN.search(part))


# "Do you have a lounge?", "is there a student discount?", "can I get a static IP address?",
# "can I pay my bill with a credit card?": a question whether something exists, may be had or
# is taken, and the thing it names, up to the first word that says more about it ("... on
# phone plans", "... with home fibre", "... if I pay by card");
# whom it is for belongs to it ("a cheaper tariff for students": a tariff, for students), what
# it is for does not ("money back for the rest of the day"). The customer does not ask whether
# they have a thing ("what do i do till it comes?").
_AVAILABLE = re.compile(
    r"\b(?:(?:do|does) (?!(?:i|we)\b)(?:you|u|ya|they|\w+)(?: guys)? (?:have|offer|sell|provide|run|accept|support|do)"
    r"|(?:is|are) there|(?:can|could) (?:i|we) (?:get|add|buy|have|rent|hire|book)"
    r"|is it possible to (?:get|add|buy|have|rent|hire|book)|(?:are|is) (?:you|\w+) (?:hiring|selling|offering)"
    r"|(?:do|does) (?:it|they|[\w-]+|(?:the|your|these|those) [\w-]+(?: [\w-]+)?) (?:come with|include|have)"
    r"|(?:can|could|do) (?:i|we|u) pay(?: (?:my|the|our|your|for|it|this|that|[\w-]+)){0,3}? (?:with|by|using|via))\s+"
    r"(?:a |an |any |some |the )?(?P<thing>[a-z][a-z' -]*)",
    re.IGNORECASE,
)
# "Are drones covered under personal possessions?", "is a hot tub in the garden covered?": a
# question whether a kind of thing is covered, included or allowed names it before the verb.
# One's own thing is not asked for by kind: "is my tent pole covered by your warranty?" asks
# whether the warranty covers the customer's case, which no passage names.
_COVERED = re.compile(
    r"\b(?:is|are)\s+(?:a |an |the )?(?P<thing>(?!(?:my|our|his|her|their|your)\b)[a-z][a-z' -]{1,40}?)\s+"
    r"(?:still\s+)?(?:covered|included|allowed|permitted)\b",
    re.IGNORECASE,
)
_THING_ENDS = re.compile(
    r"\b(?:on|at|in|with|if|when|to|so|because|or|and|that|which|who|i|we|you|my|our|from|of|like|by|"
    r"for(?= (?:the|a|an|my|your|our|his|her|their|this|that|these|those|it|each|every|all)\b)|"
    r"while|instead|before|after|it|they|can|will|would)\b|[?,.!;:]",
    re.IGNORECASE,
)
_THING_WORD = re.compile(r"[a-z][a-z'-]*")
# What such a question may ask for without naming a thing: an amount ("is there a fee?": "it's
# free"), a limit ("is there a max?": "capped at $60"), a means ("is there a way to ...?"); and
# what a price word says of the thing ("is there a cheaper plan?" names a plan).
ASKED_NOT_NAMED = frozenset(
    "way ways anyway anything something anyone someone another other thing things option options help info information "
    "money back time limit limits max maximum minimum min fee fees charge charges cost costs price prices extra "
    "special more cheap cheaper cheapest people stuff".split()
)


# "How much is delivery for a sofa?", "what's the fee for a replacement card", "how long does a
# refund take?", "when does it get unlocked?": a question for the price or the time of a thing,
# and the words that name it, up to the end of the clause. The asking verbs after it ("take",
# "cost", "open") name nothing.
_VALUED = re.compile(
    r"\b(?:how much (?:extra )?(?:is|are|does|do|would|will|for|to)|(?:price|cost|charge|fee)s? (?:of|for)"
    r"|how long (?:does|do|will|would|is|are)|when (?:does|do|is|are|will)|what time (?:does|do|is|are))\s+"
    r"(?P<thing>[a-z][a-z' -]*)",
    re.IGNORECASE,
)
_VALUED_NOT_NAMED = frozenset(
    "open close start finish end run take last cost charge pay extra much one they them".split()
)


def valued_words(question: str) -> list[str]:
    """The words (``tokenize``'s stems) naming the thing ``question`` asks the price or the
    time of ("how much is delivery for a sofa?" -> ["delivery", "sofa"]); none when it asks no
    such question or names the thing by a pronoun alone ("how much is that?")."""
    match = _VALUED.search(question)
    if match is None:
        return []
    return [w for w in tokenize(match.group("thing")) if w not in _VALUED_NOT_NAMED]


# "Is the class offered in Spanish?", "do your agents speak French?": a language is a thing
# asked for too, wherever the question names it.
_LANGUAGE = re.compile(
    r"\b(?:in|speaks?|speaking) (?P<thing>spanish|french|german|italian|portuguese|chinese|mandarin|cantonese|"
    r"japanese|korean|arabic|hindi|russian|polish|dutch|turkish|vietnamese|tagalog|ukrainian|greek|hebrew|"
    r"swedish|norwegian|danish|finnish|romanian|hungarian|czech|thai|indonesian|persian|farsi|urdu|bengali|"
    r"punjabi|sign language)\b",
    re.IGNORECASE,
)


def thing_asked_for(question: str) -> str | None:
    """The thing ``question`` asks whether the company has or offers ("a lounge" -> "lounge",
    "student discounts on phone plans" -> "student discounts", "offered in Spanish" ->
    "Spanish"), or ``None`` when it asks no such question or names only an amount or a means
    ("is there a fee ...", "a way to ...")."""
    language = _LANGUAGE.search(question)
    if language is not None:
        return language.group("thing")
    match = _AVAILABLE.search(question) or _COVERED.search(question)
    if match is None:
        return None
    thing = _THING_ENDS.split(match.group("thing"))[0].strip(" '-")
    return thing if named_words(thing) else None


def named_words(thing: str) -> list[str]:
    """The words of ``thing`` that name it (no stopwords, nor ``ASKED_NOT_NAMED``)."""
    return [w for w in _THING_WORD.findall(thing.lower()) if w not in STOPWORDS and w not in ASKED_NOT_NAMED]
