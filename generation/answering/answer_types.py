"""What kind of value a question asks for, and whether a text states one.

"How long ...?" wants a duration ("how long till ...?" how long something takes, which a
deadline does not say), "How much is ...?" an amount of money, "What time ...?" a time
of day, "Where do I go to pick it up?" a place (a street address), "What size ...?" a
measure in its unit, "How often ...?" a frequency. Evidence selection prefers a
sentence that holds the kind asked for over one that only shares the question's words, and a
passage that holds none of it does not answer a question that asks for nothing else
(generation/answering/evidence.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generation.answering.gate import is_yes_no_question


def _any(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives), re.IGNORECASE)


_UNIT_OF_TIME = r"(?:minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|months?|years?)"
_TIME_SPAN = r"(?:business |working )?(?:days|hours|weeks|months|minutes|years)"
# Help centres write small counts of time in words as often as in figures ("We'll respond
# within one month", "it takes two weeks"); "a"/"an" counts one only after a word that frames
# a wait ("within a day"): elsewhere it is a rate's ("$5 a month").
_COUNT_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty|thirty|"
    r"sixty|ninety|twenty[- ]four|forty[- ]eight|seventy[- ]two)"
)
_UNIT_OF_SIZE = (
    r"mm|cm|m|km|kg|kgs|g|lbs?|oz|ml|l|inch(?:es)?|ft|feet|foot|yards?|(?:milli|centi|kilo)?met(?:re|er)s?|"
    r"kilo(?:gram)?s?|grams?|litres?|liters?|tonnes?|kb|mb|gb|tb|px|pixels"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekends?|weekdays?|midnight|noon)"


@dataclass(frozen=True)
class AnswerType:
    name: str
    asks: re.Pattern[str]  # a question that asks (among other things) for this kind
    asks_only: re.Pattern[str]  # a question that asks for this kind and nothing else
    states: re.Pattern[str]  # a text that states a value of this kind


# How long something takes ("how long till the refund hits my card?", "how soon will it
# arrive?", "how long does express shipping take?"); not how long one has to do something ("how
# long do I have to return it?"). Only the asking words match: a follow-up's search drops them
# from the message before (generation/answering/followup.py), and keeps what it asked about.
_HOW_LONG = r"\bhow (?:long|many (?:business |working )?days)\b"
# How fast something comes, in customers' words: "how soon", "how quick", "how quickly".
SPEED = r"(?:soon|quick|quickly|fast)"
_WAIT = (
    rf"{_HOW_LONG}(?= (?:till|until|til|untill|before (?:i|we|it|they|my|the)\b))",
    rf"{_HOW_LONG}(?= (?:does|do|will|would|did) (?:(?!have\b|has\b)\w+ ){{1,3}}?take\b)",
    rf"\bhow {SPEED}\b(?= (?:will|would|do|does|can|could|is|are)\b)",
)
# "When should I have heard back?", "when will I get my refund?": when something that takes a
# while comes. Such a question may be answered without a duration ("once the return reaches
# us"), so it does not ask for one only.
_WHEN_IT_COMES = (
    r"\bwhen (?:should|will|would|can|could|might|do|does|shall) (?:i|we|you|they|someone) "
    r"(?:(?:have|of|'ve) )?(?:hear|heard|get|receive|expect|be (?:contacted|refunded|paid|called)|"
    r"contact|call|reply|respond|replied|responded)\b"
)
# A duration that is a deadline ("cancel up to 2 hours before departure") says when something
# must be done, not how long something takes; nor is an age ("less than 10 years old").
_NOT_A_DEADLINE = r"(?!\s+(?:before|prior to|ahead of|old)\b)"
# A wait is said with a word before its duration ("within 4 hours", "takes 3 days", "usually
# 48 hours") or as a range ("3-5 working days"); a bare duration is more often a period ("cover
# for the first 14 days", "serviced in the last 12 months").
_WAIT_FRAME = (
    r"(?:within|in|takes?|taking|took|up to|about|around|approximately|roughly|usually|normally|"
    r"typically|generally|allow|under|less than|at least|after|of|for)"
)
_WORDED_SPAN = rf"{_COUNT_WORD}[ -](?:(?:business|working|calendar|full|whole) )?{_UNIT_OF_TIME}\b"
_SPAN = rf"(?:\d+(?:[.,]\d+)?\s*(?:business |working |calendar )?{_UNIT_OF_TIME}\b|{_WORDED_SPAN})"
_A_SPAN = rf"\bwithin an? (?:business |working )?{_UNIT_OF_TIME}\b"
TYPES = (
    AnswerType(
        "wait",
        asks=_any(*_WAIT, _WHEN_IT_COMES),
        asks_only=_any(*_WAIT),
        states=_any(
            rf"\b{_WAIT_FRAME}\s+(?:(?:an?|the|about|around|up to|least|than)\s+)?{_SPAN}{_NOT_A_DEADLINE}",
            rf"\b\d+(?:[.,]\d+)?\s*(?:-|–|to)\s*{_SPAN}{_NOT_A_DEADLINE}",
            _A_SPAN,
            r"\bsame[- ]day\b|\bnext[- ]day\b|\bovernight\b|\bimmediately\b",
        ),
    ),
    AnswerType(
        "duration",
        asks=_any(
            rf"\bhow (?:long|{SPEED})\b",
            rf"\bhow many {_TIME_SPAN}\b",
            r"\buntil when\b|\bwhen will\b|\bwithin how\b",
            r"\bwhat(?:'s| is) the (?:deadline|time ?frame|period|notice period)\b",
            r"\bhow (?:far (?:ahead|in advance|back)|early)\b|\bhow much notice\b",
        ),
        asks_only=_any(
            r"\bhow (?:long|soon)\b",
            rf"\bhow many {_TIME_SPAN}\b",
            r"\bhow far (?:ahead|in advance|back)\b|\bhow much notice\b",
        ),
        states=_any(
            rf"\b\d+(?:[.,]\d+)?\s*(?:-|to|or)?\s*\d*\s*(?:business |working |calendar )?{_UNIT_OF_TIME}\b",
            rf"\b{_WORDED_SPAN}",
            _A_SPAN,
            r"\bsame[- ]day\b|\bnext[- ]day\b|\bovernight\b|\bimmediately\b",
        ),
    ),
    AnswerType(
        "age",
        asks=_any(
            r"\bhow old\b|\b(?:minimum|age) (?:age|limit|requirement)\b",
            r"\b\d{1,2}[- ]?(?:years?[- ]olds?|yo)\b|\b(?:is|am|are|turns?|turning) \d{1,2}\b",
        ),
        asks_only=_any(r"\bhow old\b", r"\bwhat(?:'s| is) the (?:minimum )?age\b"),
        states=_any(
            r"\b\d{1,2}\s*(?:years? old|years? of age|or over|or older|and over|and older|\+)",
            r"\b(?:aged?|under|over) \d{1,2}\b",
        ),
    ),
    AnswerType(
        "money",
        asks=_any(
            r"\bhow much\b(?![^?.]*\bweigh\b)|\bcosts?\b|\bprices?\b|\bfees?\b|\bcharged?\b|\bspend\b",
            # "pay as you go" names a way of paying, not a question of what it costs.
            r"\bpay\b(?! as (?:you|i|we) go\b)",
            r"\bexpensive\b|\bcheap(?:er|est)?\b|\bfines?\b|\brates?\b|\$|€|£",
        ),
        asks_only=_any(
            r"\bhow much (?:is|are|does|do|will|would|did|for|to|it|that|this|a|an|the|money|extra)\b"
            r"(?![^?.]*\b(?:room|space|data|weight|weigh|time|off|discount)\b)",
            r"\bwhat(?:'s| is| are) the (?:price|cost|fee|fine|charge|rate)s?\b",
        ),
        states=_any(
            r"[$€£¥]\s?\d",
            r"\d\s?(?:dollars?|euros?|pounds?|usd|eur|gbp|cents?|pence)\b",
            r"\b\d{1,2}(?:\.\d+)?p\b(?!\.m)",  # "15p per kWh"; not a video's "1080p"
            r"\bfree\b|\bno charge\b|\bfee\b",
        ),
    ),
    AnswerType(
        "percent",
        asks=_any(r"\bdiscounts?\b|\bpercent|%|\bhow much off\b|\bsave\b|\bsavings?\b"),
        asks_only=_any(r"\bhow much (?:off|discount)\b|\bwhat percent"),
        states=_any(r"\d\s?%|\bpercent\b"),
    ),
    # A size or a weight ("what size of crack should I worry about?", "how heavy can my bag
    # be?"): a measure in its unit. Never asked for only: "what size boots should I get?" is
    # answered by "half a size up".
    AnswerType(
        "size",
        asks=_any(
            r"\bwhat size\b|\bhow (?:big|large|small|wide|tall|deep|thick|heavy)\b|\bdimensions?\b",
            r"\b(?:biggest|largest|heaviest|longest|widest|tallest)\b",
            r"\b(?:max(?:imum)?|min(?:imum)?) (?:size|weight|length|width|height|depth)\b",
            r"\bweight (?:limit|allowance)\b|\bsize (?:limit|restriction)s?\b|\bhow much (?:[\w-]+ ){1,4}weigh\b",
        ),
        asks_only=re.compile(r"(?!)"),
        states=_any(
            rf"\b\d+(?:[.,]\d+)?\s?(?:x\s?\d+(?:[.,]\d+)?\s?)*(?:{_UNIT_OF_SIZE})(?![\w-])",
        ),
    ),
    AnswerType(
        "clock",
        asks=_any(
            r"\b(?:what|which) times?\b|\bopening hours\b|\bhours\b|\bwhich days?\b|\bopen on\b|\bcut-?off\b",
            r"\bwhen (?:are|is|do|does) (?:you|it|the \w+) (?:open|close|closed)\b",
        ),
        asks_only=_any(r"\b(?:what|which) times?\b|\bopening hours\b"),
        states=_any(
            r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)",
            r"\b\d{1,2}:\d\d\b",
            rf"\b{_WEEKDAY}\b",
            rf"\b\d+\s*{_UNIT_OF_TIME}\s+(?:before|after|prior to|ahead of)\b",  # "20 minutes before departure"
        ),
    ),
    AnswerType(
        "place",
        asks=_any(
            r"\bwhere (?:do|can|should|would|will|could) (?:i|we|you|they) (?:go|pick|collect|get|find|drop|"
            r"take|bring|return|leave|send|meet)\b",
            r"\bwhere(?:'s| is| are) (?:your|the) (?:\w+ )?(?:office|store|shop|hub|depot|desk|branch|warehouse)s?\b",
            r"(?<!email )(?<!e-mail )(?<!web )(?<!ip )\b(?:street |postal |mailing |return )?address\b",
        ),
        asks_only=_any(r"\bwhat(?:'s| is) (?:the|your) (?:street |postal |mailing |return )?address\b"),
        states=_any(
            r"\b\d{1,5}[A-Za-z]? (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Way|"
            r"Drive|Dr|Place|Pl|Square|Sq|Court|Ct|Parkway|Pkwy|Highway|Hwy)\b",
            r"\b(?:Unit|Suite|Floor|Building) \d+\b|\bP\.?O\.? Box \d+",
            r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b",  # a UK postcode: BS1 4QA
            r"\b[A-Z]{2} \d{5}(?:-\d{4})?\b",  # a US state and ZIP code: OR 97205
        ),
    ),
    AnswerType(
        "contact",
        asks=_any(
            r"\bemail\b|\bphone\b|\bcall\b|\bcontact\b|\breach (?:you|someone|support)\b",
            r"\bnumber to\b|\bwebsite\b|\blink\b|\baddress\b",
        ),
        asks_only=_any(
            r"\bwhat(?:'s| is) (?:the|your) (?:email|phone number|number)\b",
            r"\bwhich (?:email|phone number)\b",
        ),
        states=_any(r"@|\bhttps?://|\bwww\.|\b\d{3}[-. ]\d{4}\b|\bcall\b|\bphone\b|\bemail\b|\bchat\b|\bform\b"),
    ),
    # How often something happens ("how often do the night trams come?"): a frequency, "every
    # 15 minutes", "once a day", "twice a year", "hourly"; not "every night", which says when.
    # Never asked for only: "re-proof the fly every 2 seasons", "after each trip" answer it too.
    AnswerType(
        "frequency",
        asks=_any(r"\bhow (?:often|frequent(?:ly)?)\b|\bfrequency\b"),
        asks_only=re.compile(r"(?!)"),
        states=_any(
            rf"\bevery (?:\d+(?:[.,]\d+)?\s*(?:-|–|to)?\s*\d*\s*|few |other |couple of ){_UNIT_OF_TIME}",
            r"\b(?:once|twice|\d+ times|(?:two|three|four) times) (?:a|an|per|each|every) \w+",
            r"\b(?:hourly|daily|weekly|fortnightly|monthly|quarterly|yearly|annually)\b",
        ),
    ),
    AnswerType(
        "count",
        asks=_any(r"\bhow many\b|\bmaximum\b|\bminimum\b|\blimits?\b|\bup to\b|\bat most\b|\bat least\b"),
        asks_only=_any(r"\bhow many\b"),
        # "One" counts where it is a number: "any one item", "no one" and "one of" are no count.
        states=_any(
            r"\b\d+\b|(?<!any )(?<!no )\bone\b(?! of\b|-off\b| another\b)",
            r"\btwo\b|\bthree\b|\bfour\b|\bfive\b|\bunlimited\b",
        ),
    ),
)


def named(name: str) -> AnswerType:
    """The kind of value called ``name`` ("duration", "contact", ...)."""
    return next(kind for kind in TYPES if kind.name == name)


CONTACT = named("contact")


def asked(question: str, *, only: bool = False) -> AnswerType | None:
    """The kind of value ``question`` asks for, or ``None``; ``only``: a question that asks for
    that value and nothing else ("How long does ...?", "What is the fee for ...?"), never a
    yes/no question."""
    if only and is_yes_no_question(question):
        return None
    for kind in TYPES:
        if (kind.asks_only if only else kind.asks).search(question):
            return kind
    return None
