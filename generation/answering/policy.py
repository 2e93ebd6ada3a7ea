"""Grounded answers: decide whether and how to answer one customer turn, write it, verify it.

The policy, in order:
1. "Ignore your instructions"-style messages get a fixed, polite decline.
2. A customer who asks for a person, says in a few words that the last answer did not help
   ("it didnt work"), writes in another language, or asks about one record (an order, invoice
   or account number that no article mentions), gets a handoff at once.
3. Small talk (greetings, thanks, goodbyes, a bare yes or no, "quick question", "I have a
   problem with my order") gets a fixed reply, told by the message's own words even where it
   would lean on the one before (generation/answering/smalltalk.py).
4. Retrieval ranks passages, with the previous question when this one is a follow-up
   (generation/answering/followup.py); each question of a message that asks two or three is
   searched on its own (generation/answering/questions.py), and the answer holds each one's.
   Too unsure, or the best passage lacks what the question asks for (a kind of value, a name
   no article mentions, a thing the customer asks whether the company has): an honest handoff
   that says nothing was found. A message that names nothing new ("why?", "are you sure?") and
   would get the previous answer again gets a person instead. Evidence that sends the reader to
   another article for the value asked ("see Your excess explained") is what that article says;
   asked how to do something, evidence that gives no way to do it yields to a passage of the
   same article that gives a menu path ("Manage booking > Special assistance").
5. Otherwise the answer is built from the evidence, the units of the best passage that answer
   (generation/answering/evidence.py): the model writes it, and each sentence is verified before
   the customer sees it (generation/answering/gate.py); when the model's first sentence fails,
   the evidence is quoted instead. Between the two confidence thresholds the answer comes with a
   handoff, so a person checks it.
When the offline responder is not built yet, step 5 quotes the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from typing import Any

import numpy as np

from conversations.redaction import redact
from generation.answering import answer_types, facts, followup, phrases, quantities, questions, smalltalk
from generation.answering import evidence as evidence_of
from generation.answering import prompt as prompts
from generation.answering.gate import MAX_SENTENCES, Grounded, SentenceGate, Verifier, is_yes_no_question
from generation.answering.restate import EagerStream, Restatements
from generation.engine import Engine, SamplingParams, StreamStats, TokenStream
from generation.knowledge.bm25 import STOPWORDS, tokenize
from generation.knowledge.index import Entry, KnowledgeIndex, PassageHit, confidence
from generation.knowledge.passages import split_sentences
from generation.knowledge.spelling import RARE_IN_ENGLISH, edit_distance

# A customer asking for a person: "can I talk to a real person?", "speak to someone", "get me a
# human", "transfer me to an agent", or the word alone ("agent please", "representative"). A
# person named in a question about something else ("can my travel agent change it?") is not one.
_PEOPLE = r"(?:person|human|agent|representative|rep|someone|somebody|staff|team|manager|supervisor|operator|people)"
_HUMAN = re.compile(
    r"\b(?:human being|real person|someone real|live (?:agent|person|chat)|customer service rep"
    rf"|(?:talk|speak|chat)(?:ing)? (?:to|with) (?:(?:a|an|the|your|some|real|live|actual|proper)\s+)*{_PEOPLE}"
    rf"|(?:talk|speak|chat) to someone|representative|operator"
    rf"|(?:get|put|connect|transfer|pass|escalate)\s+me\s+(?:through\s+)?(?:to|with)?\s*(?:(?:a|an|the|your|real|live)\s+)*{_PEOPLE}"
    r"|(?:i|we)\s+(?:want|need|would like|'d like)\s+(?:(?:a|an|the|to|talk|speak|chat|with|real|live|actual)\s+)*"
    r"(?:person|human|agent|manager|supervisor)\b(?!\s+(?:to|who|that)\b))\b"
    rf"|^\W*(?:(?:a|an|real|live|human)\s+)?(?:agent|human|person|representative|manager)(?:\s+(?:please|pls|plz|now|asap))*\W*$",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(ignore|disregard|forget) (?:all |any |your |the |previous |prior |above |earlier )*"
    r"(instructions|rules|prompt|guidelines)|system prompt|your (?:instructions|prompt|rules)|"
    r"developer mode|jailbreak|you are now|pretend (?:to be|you are)|act as (?:an?|the) ",
    re.IGNORECASE,
)
# "it didnt work", "that's not what I asked": the customer says the last answer did not help.
_NOT_HELPED = re.compile(
    r"\b(?:did|does|do|is|was|has|have)\s?n[o'’]?t\s+(?:work|help|answer|fix|solve)|"
    r"\bstill (?:not|does\s?n[o'’]?t|can'?t|cannot|won'?t|is\s?n[o'’]?t|no)\b|"
    r"\bnot (?:working|helpful|what i (?:asked|meant|need|wanted))\b|\bno help\b|"
    r"\bwrong answer\b|\bthat'?s (?:not right|wrong|not it)\b|\buseless\b",
    re.IGNORECASE,
)
# ... unless it asks about that case ("what if the link doesn't work?").
_HYPOTHETICAL = re.compile(
    r"^\W*(?:and |but |so |ok |okay )?(?:what (?:about |happens )?if|if|in case|suppose)\b", re.IGNORECASE
)
NOT_HELPED_WORDS = 10
# An order, invoice, ticket or account number: "#4521", "INV-2291", "SO12345", "55123".
# Money ("$300") and short numbers ("10 days") are not references.
_RECORD = re.compile(r"(?<![\w$€£])(?:#\s?\d{3,}|[a-z]{1,5}-?\d{3,}|\d{5,})(?![\w.,]\d)", re.IGNORECASE)

# A match up to this far below the minimum confidence is answered tentatively when its passage
# leads every other article's by at least STANDS_OUT_MARGIN (see ``_stands_out``): a base whose
# customers word things far from its articles scores low everywhere, and there the lead over
# the other articles is what tells an answer from a guess (docs/benchmarks.md).
WEAK_MATCH_BELOW_MINIMUM = 0.18
STANDS_OUT_MARGIN = 0.10
# Where this many passages of the best one's article come before any other article's, a match
# in the nearer half of that range stands out at half the margin: "who can I escalate it to?"
# after a complaint finds four passages of the complaints article, the next article's 0.06 behind.
ARTICLE_AHEAD = 3
SEARCH_DEPTH = 5
# The measures a weak match is answered on when its passage states a band of one the customer
# gives (``_states_their_band``): an age, a weight or a size says which rule they ask about.
MEASURES = frozenset({"age", "weight", "length"})
# And a passage stating a band of it answers in the best one's place when it scores within this
# of it (``_band_first``).
BAND_ELSEWHERE_MARGIN = 0.05
# Within the best one's article, a passage stating a band that holds a time or an amount of
# money the customer gives of their own case ("complained 9 weeks ago": "If your complaint
# hasn't been resolved after 8 weeks"; "my ring is worth £6k": "Jewellery worth more than
# £4,000") answers in its place when it scores within this of it (``_case_band_first``).
CASE_MEASURES = frozenset({"time", "money"})
CASE_BAND_MARGIN = 0.12
# ... and a band of it with an upper end, where only an open one of the best passage holds it.
CLOSER_BAND_MARGIN = 0.03
# So does one holding the code the customer quotes, which only its article holds (``_code_first``).
CODE_ELSEWHERE_MARGIN = 0.05
# A passage of the best one's article that states the kind of value asked for, where the best
# does not, answers in its place when it scores within this of it ("how long till the refund
# hits my card?": the section "How long refunds take", behind the one on cancelling a Flex
# fare, which says until when one may).
VALUE_ELSEWHERE_MARGIN = 0.15
# A word the customer names that no article mentions is covered by a passage holding a word this
# close to it (``Responder._covers_topic``): chosen on the demo and spokes bases, where answers
# to unanswerable questions scored 0.42 at most and right answers 0.44 at least.
TOPIC_COVERED = 0.43
# Where the best passage does not speak of the name, one that does and scores within this of it
# answers instead ("the price of delivery to Germany": the shipping costs, then shipping abroad).
TOPIC_ELSEWHERE_MARGIN = 0.1
# A place the customer names ("flying to Lisbon next month", "my brother in Toronto") is where
# they are, seldom what they ask about: a passage that speaks of other countries or of being
# abroad covers it. A name this close to "city" or "country" is a place ("lisbon" 0.57,
# "manila" 0.45; "kayak" 0.28, "bitcoin" 0.32), and a passage's word this close to "country"
# speaks of places abroad ("abroad" 0.59, "international" 0.54, "countries" 0.85; "street"
# 0.37, "airport" 0.37). MiniLM cosines, read off when these were chosen.
PLACE_NAME = 0.44
PLACE_WORD = 0.5
_PLACES = ("city", "country")
# A thing the customer asks whether the company has ("do you have a lounge?") is spoken of by
# a passage holding each of its words or one this close (MiniLM cosine): on the evaluation
# sets, the words of things no article offers scored 0.34-0.48 against the passages found
# ("static", "lounge", "insurance"), and "family" 0.50.
THING_COVERED = 0.5
_PASSAGE_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
# A word of a customer's message, as ``KnowledgeIndex.mentions`` looks words up.
_OWN_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
# Text that redaction could change (``_already_said``).
_REDACTABLE = re.compile(r"[@\d]")
# A question that asks what to do or whether something can be done ("ok what do i do", "can it
# be undone?", "how do I fix it?"): answered again though the answer before holds the answer.
_ASKS_WHAT_TO_DO = re.compile(
    r"\b(?:what (?:do|should|can) (?:i|we)|how (?:do|can|should) (?:i|we)|(?:can|could) (?:it|that|this|i|we)"
    r"|is (?:it|that|this|there) (?:possible|a way))\b",
    re.IGNORECASE,
)
# Words that ask again without asking anything new ("really?", "what do you mean?").
_FILLERS = frozenset("really sure mean seriously exactly huh hmm ok okay wait sorry again".split())
# A message that does not read as a follow-up is taken as one when searching it with the
# message before finds a match this much surer than searching it alone (``Responder._search``).
FOLLOWUP_GAIN = 0.05
# A follow-up stays on the passage the answer before came from when another matches it at most
# this much better (``Responder._on_the_answer_before``): at 0.08 a follow-up of northwind's
# evaluation set lost its answer, at 0.03 and 0.05 none moved.
FOLLOWUP_STAY = 0.03
# And a passage holding the words the follow-up adds is this much ahead, times their share of
# the follow-up's new words (IDF-weighted): "and to canada?" after "how much is express
# shipping?" is about international shipping (0.1 and 0.3 moved fewer follow-ups right).
FOLLOWUP_OWN = 0.2
# A follow-up of this many words of its own or more ("and how many times can I claim in a
# year?") says which sentence of the passage answers it: the vector that picks the sentence is
# this share its own, the rest the joined search's ("and for members?" leaves it to the latter).
OWN_SHARE = 0.5
OWN_WORDS = 3
# A follow-up with ``OWN_WORDS`` of its own is answered as searched alone where that finds a
# match this sure in another article than the joined search ("what if the parcel never
# arrives?" after the shipping costs: 0.93). The follow-ups of the nine evaluation sets, each
# about the message before, scored 0.83 at most alone, each in a wrong article.
FOLLOWUP_ALONE = 0.9


def record_references(text: str) -> list[str]:
    """Identifiers of individual records in ``text`` (see ``_RECORD``)."""
    return [match.replace(" ", "") for match in _RECORD.findall(text)]


Forward = Callable[[str], None]
StopCheck = Callable[[], bool]
# A search: the query, its vector, the passages found, the confidence.
Search = tuple[str, np.ndarray, list[PassageHit], float]
# What a search found to answer with: the evidence (or ``None``), the confidence, and the
# handoff to give when there is no evidence (``None``: the "not found" one).
Found = tuple[evidence_of.Evidence | None, float, str | None]


@dataclass
class Answer:
    text: str
    mode: str  # model | quote | smalltalk | handoff | declined | stopped
    sources: list[dict[str, Any]] = field(default_factory=list)
    grounded: bool = False
    handoff: bool = False
    confidence: float = 0.0
    candidates: list[str] = field(default_factory=list)
    stats: StreamStats | None = None
    evidence: tuple[str, ...] = ()
    # False when the customer saw streamed text that the final message does not begin with.
    stream_matches: bool = True


def _noop(_: str) -> None:
    return None


def _never() -> bool:
    return False


# "How do I book ...?", "how can we change ...?": a question how to do something (not "how do I
# know ..."), answered by a way to do it: a menu path of the app or website ("Manage booking >
# Special assistance"), a number to call, an address.
_ASKS_HOW_TO = re.compile(r"\bhow (?:do|can|should|would|could) (?:i|we)\b(?!\s+(?:know|tell)\b)", re.IGNORECASE)
_MENU_PATH = re.compile(r"\w > \w")
# Words that differ only by an opposing prefix ("upload" and "download", "inbound" and
# "outbound", "overpaid" and "underpaid") are near in meaning to MiniLM and to a reader skimming;
# a passage that names one answers nothing about the other.
_OPPOSED_PREFIXES = (("up", "down"), ("in", "out"), ("over", "under"))
_PLAIN_WORD = re.compile(r"[a-z]+")


def _opposite_only(question: str, texts: Sequence[str]) -> str | None:
    """A word of ``question`` that ``texts`` never use while they use its opposite (the same
    word with the opposing prefix, ``_OPPOSED_PREFIXES``): "upload" where the passage speaks
    only of "download speeds"; ``None`` when there is none."""
    said = set(_PLAIN_WORD.findall(" ".join(texts).lower()))
    for word in _PLAIN_WORD.findall(question.lower()):
        for one, other in (*_OPPOSED_PREFIXES, *((b, a) for a, b in _OPPOSED_PREFIXES)):
            rest = word[len(one) :]
            if word.startswith(one) and len(rest) >= 4 and word not in said and other + rest in said:
                return word
    return None


# A discount the customer asks about is spoken of only by a passage that states one: a price
# list is near "discount" in meaning ("price", cosine 0.56), and says no discount is given.
_DISCOUNT = re.compile(r"^discounts?$", re.IGNORECASE)
_STATES_A_CUT = re.compile(
    r"\d\s?%|\bpercent\b|\bdiscount|\b(?:off|cheaper|reduced|reduction|saves?|saving|free)\b", re.IGNORECASE
)


def _states_a_way(text: str) -> bool:
    """Whether ``text`` gives a way to do something: a menu path or a way to contact the company."""
    return bool(_MENU_PATH.search(text)) or answer_types.CONTACT.states.search(text) is not None


def _asks_on_its_own(question: str) -> bool:
    """Whether ``question`` says itself what kind of answer it wants: it asks about a case ("what
    if I move?"), asks yes or no, or asks for a kind of value ("how long?")."""
    return (
        bool(_HYPOTHETICAL.match(question)) or is_yes_no_question(question) or answer_types.asked(question) is not None
    )


def _fixed(text: str, mode: str, forward: Forward, **fields: Any) -> Answer:
    """A reply the bot writes itself; it streams like any other."""
    forward(text)
    return Answer(text, mode, **fields)


def _stands_out(hits: Sequence[PassageHit], conf: float, minimum: float) -> bool:
    """A weak match still worth a tentative answer: just under the minimum, and clearly ahead
    of every other article's passages (``STANDS_OUT_MARGIN``; half that, in the nearer half,
    where ``ARTICLE_AHEAD`` passages of its article come first)."""
    if conf < minimum - WEAK_MATCH_BELOW_MINIMUM:
        return False
    other = next((i for i, h in enumerate(hits) if h.article_id != hits[0].article_id), None)
    if other is None:
        return True
    near = conf >= minimum - WEAK_MATCH_BELOW_MINIMUM / 2
    margin = STANDS_OUT_MARGIN / 2 if near and other >= ARTICLE_AHEAD else STANDS_OUT_MARGIN
    return hits[0].score - hits[other].score >= margin


def _quotes_its_code(
    entries: Sequence[Entry], hits: Sequence[PassageHit], question: str, conf: float, minimum: float
) -> bool:
    """A weak match whose passage holds a code the customer quotes, which no other article
    mentions ("my confirmation says CSTD next to the flight, what does that mean?": the fare
    codes): the code says which passage answers, however little else the words share."""
    if conf < minimum - WEAK_MATCH_BELOW_MINIMUM:
        return False
    top = hits[0]
    return any(
        evidence_of.holds_word(top.passage.text, code) and _sole_holder(entries, code) is top.entry
        for code in set(evidence_of.quoted_codes(question))
    )


def _sole_holder(entries: Sequence[Entry], code: str) -> Entry | None:
    """The one article of ``entries`` that holds ``code`` as a word; ``None`` when none or more
    than one does."""
    holder = None
    for entry in entries:
        if evidence_of.holds_word(" ".join(entry.outline.units), code):
            if holder is not None:
                return None
            holder = entry
    return holder


def _measures_given(question: str) -> set[str]:
    """The measures (``MEASURES``) of the amounts ``question`` names: "im 17" gives an age."""
    return {kind for kind, _ in quantities.asked(question)} & MEASURES


def _states_band(hit: PassageHit, kinds: set[str]) -> bool:
    return any(band.kind in kinds for band in quantities.stated(hit.passage.text))


def _states_their_band(hits: Sequence[PassageHit], kinds: set[str], conf: float, minimum: float) -> bool:
    """A weak match whose passage states a band of the measure the customer gives of themselves
    or what they bring (``kinds``, of ``MEASURES``): "im 17, can i ride the electric ones?" and
    "You must be at least 18 years old to ride a Spokes e-bike". (Times and prices are in bands
    all over a help centre: "32 weeks pregnant" is not answered by "Infants must be at least 7
    days old".)"""
    if conf < minimum - WEAK_MATCH_BELOW_MINIMUM:
        return False
    return bool(kinds) and _states_band(hits[0], kinds)


def _moved_first(
    hits: list[PassageHit], conf: float, margin: float, accepts: Callable[[PassageHit], bool]
) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence with the best of the others that ``accepts`` takes, within
    ``margin`` of the best one's score, first; as they were when there is none."""
    moved = evidence_of.runner_up(hits, margin, accepts)
    if moved is None:
        return hits, conf
    ranked = [moved, *(h for h in hits if h is not moved)]
    return ranked, confidence(ranked)


def _band_first(hits: list[PassageHit], conf: float, kinds: set[str]) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence; where the customer gives an age, a weight or a size
    (``kinds``) and the best passage states no band of it, the best of the others within
    ``BAND_ELSEWHERE_MARGIN`` that does goes first: "My 16 year old will be home - is that ok?"
    while the installer comes matches moving house best, and the installation passage, nearly
    as well, says "aged 18 or over"."""
    if not kinds or not hits or _states_band(hits[0], kinds):
        return hits, conf
    return _moved_first(hits, conf, BAND_ELSEWHERE_MARGIN, lambda h: _states_band(h, kinds))


def _case_band_first(hits: list[PassageHit], conf: float, case: str) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence; where ``case`` (the message, with the one before for a
    follow-up) gives a time or an amount of money (``CASE_MEASURES``) that no band of the best
    passage holds, the best passage of the same article within ``CASE_BAND_MARGIN`` whose band
    holds it goes first: "i made a complaint 9 weeks ago ... who can i go to now?" matches the
    complaint's first steps best, and the ombudsman, "after 8 weeks", a little less. Other
    articles' bands are left alone: times and prices are in bands all over a help centre."""
    amounts = [(kind, value) for kind, value in quantities.asked(case) if kind in CASE_MEASURES]
    if not amounts or not hits or quantities.fits(amounts, hits[0].passage.text, bounded=True):
        return hits, conf
    top = hits[0]
    # Where only an open band of the best passage holds it ("If your bike is worth more than
    # £750, add Cycle cover"), a band with an upper end in a passage that matches nearly as well
    # is the closer case ("£1,001 to £2,500: £4.75 a month"). (Not one that matches much less:
    # "delayed 2 hours or more: a meal voucher" answers "delayed 3 hrs, do we get anything to
    # eat?", not "Arrival 3 to 6 hours late: $100".)
    open_only = quantities.fits(amounts, top.passage.text)
    return _moved_first(
        hits,
        conf,
        CLOSER_BAND_MARGIN if open_only else CASE_BAND_MARGIN,
        lambda h: h.entry is top.entry and quantities.fits(amounts, h.passage.text, bounded=open_only),
    )


def _holds_code(hit: PassageHit, *, holder: Entry, code: str) -> bool:
    return hit.entry is holder and evidence_of.holds_word(hit.passage.text, code)


def _code_first(
    entries: Sequence[Entry], hits: list[PassageHit], conf: float, question: str
) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence; where the customer quotes a code or a word in capitals
    (``evidence.quoted_codes``) that the best passage lacks and only one article holds, the best
    of the others within ``CODE_ELSEWHERE_MARGIN`` whose passage holds it goes first: "is there a
    cheaper plan for people on benefits like SNAP?" matches the plans' prices best, and the
    reduced-fare plan for those who "receive SNAP, Medicaid, WIC or Lifeline benefits" nearly as
    well."""
    if not hits:
        return hits, conf
    top = hits[0]
    for code in dict.fromkeys(evidence_of.quoted_codes(question)):
        if evidence_of.holds_word(top.passage.text, code):
            continue
        holder = _sole_holder(entries, code)
        if holder is None:
            continue
        ranked, ranked_conf = _moved_first(
            hits, conf, CODE_ELSEWHERE_MARGIN, partial(_holds_code, holder=holder, code=code)
        )
        if ranked[0] is not top:
            return ranked, ranked_conf
    return hits, conf


# Where a customer goes, stays or lives ("going to tenerife for 3 weeks", "staying in Bali"): a
# place, however little MiniLM knows the name ("tenerife" is 0.30 from "city").
_WHERE_ONE_IS = (
    r"\b(?:(?:go|going|gone|went|fly|flying|flew|travel|travell?ing|travell?ed|move|moving|moved|trip|"
    r"holiday|holidays|live|living|lives|stay|staying|based|back|away|emigrating|landed|landing|arrived|arriving)"
    r"(?: (?:off|over|out|down|up|abroad))? (?:to|in|at|near|from)|visit|visiting|visited)(?: the)? "
)


def _went_to(topic: str, text: str) -> bool:
    """Whether ``text`` names ``topic`` as where the customer goes, stays or lives."""
    return re.search(_WHERE_ONE_IS + re.escape(topic.lower()) + r"\b", text.lower()) is not None


def _names_a_place(named: np.ndarray, places: np.ndarray) -> bool:
    """Whether the word embedded as ``named`` names a place: MiniLM puts it within ``PLACE_NAME``
    of "city" or "country" (``_PLACES``, embedded as ``places``)."""
    return float((places @ named).max()) >= PLACE_NAME


# A word of the message that English seldom uses may be a typo that makes another word; it is
# read against the words of this many passages found (``Responder._mended_in_context``).
CONTEXT_HITS = 3
CONTEXT_TYPO_LENGTH = 4
_CONTEXT_WORD = re.compile(r"(?<![\w'-])[A-Za-z]+(?![\w'-])")


def _words_of(*texts: str) -> list[str]:
    """The distinct words of ``texts``, lower-cased, for their MiniLM word vectors."""
    return sorted({w.lower() for text in texts for w in _PASSAGE_WORD.findall(text)})


# How many articles' word lists ``_article_words`` keeps: a message checks one to five articles.
ARTICLE_WORDS_CACHE = 64


@lru_cache(maxsize=ARTICLE_WORDS_CACHE)
def _article_words(title: str, units: tuple[str, ...]) -> tuple[str, ...]:
    """``_words_of`` an article's title and units, made once per article: its passages are
    checked one after another, message after message."""
    return tuple(_words_of(title, *units))


def _one_edit_from(lower: str, words: Sequence[str]) -> set[str]:
    """The ones of ``words`` (a hyphenated one's parts too) one edit from ``lower``, both
    ``CONTEXT_TYPO_LENGTH`` letters or more."""
    if len(lower) < CONTEXT_TYPO_LENGTH:
        return set()
    parts = {p for w in words for p in w.split("-") if len(p) >= CONTEXT_TYPO_LENGTH}
    return {p for p in parts if abs(len(p) - len(lower)) <= 1 and edit_distance(lower, p) == 1}


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def asks_for_person(text: str) -> bool:
    return bool(_HUMAN.search(text))


def _squashed(text: str) -> str:
    return " ".join(text.split()).lower()


def _already_said(unit: str, said: str) -> bool:
    """Whether ``unit`` of an article is in the bot's reply ``said`` (``_squashed``) as the
    history holds it, where personal data is redacted: an email address or phone number of the
    article's too (generation/replying.py)."""
    if _squashed(unit) in said:
        return True
    # Only text with an "@" or digits can be redacted (emails, phone and card numbers, IBANs):
    # the unit is redacted, as the reply was, only then (it runs for every unit of a follow-up).
    return bool(_REDACTABLE.search(unit)) and _squashed(redact(unit)) in said


def previous_reply(history: Sequence[prompts.Turn]) -> str:
    """The bot's last reply before the last message of ``history``; "" when there is none."""
    return next((t.text for t in reversed(history[:-1]) if t.role == "assistant" and t.text.strip()), "")


def says_it_did_not_help(history: Sequence[prompts.Turn]) -> bool:
    """Whether the last message, short and after an answer, says that answer did not help."""
    question = history[-1].text if history else ""
    return (
        bool(previous_reply(history))
        and len(question.split()) <= NOT_HELPED_WORDS
        and bool(_NOT_HELPED.search(question))
        and not _HYPOTHETICAL.match(question)
    )


class Responder:
    """Answers one customer turn. Thread-safe: holds no per-call state."""

    def __init__(
        self,
        *,
        index: KnowledgeIndex,
        engine: Engine | None,
        company: str,
        min_confidence: float,
        sure_confidence: float,
        max_new_tokens: int = 120,
        timeout_s: float = 120.0,
        restating: bool = True,
        sampling: SamplingParams | None = None,
    ) -> None:
        self.index = index
        self.engine = engine
        self.company = company
        self.min_confidence = min_confidence
        self.sure_confidence = sure_confidence
        self.max_new_tokens = max_new_tokens
        self.timeout_s = timeout_s
        # The offline responder learns to restate its evidence, and must do exactly that; a
        # real instruct model may paraphrase, under the fact gate.
        self.restating = restating
        # How a paraphrasing model samples (a restating one decodes greedily, constrained).
        self.sampling = sampling or SamplingParams()

    # --- policy ------------------------------------------------------------------------------
    def answer(
        self,
        history: Sequence[prompts.Turn],
        forward: Forward = _noop,
        should_stop: StopCheck = _never,
        *,
        raw_question: str | None = None,
    ) -> Answer:
        """Answer the last turn of ``history``; ``forward`` gets the text as it may be shown.

        ``raw_question`` is the last message before personal data was redacted from it: the
        policy looks there for record numbers, which redaction may have masked. ``should_stop``
        is polled while generating: when it says so, the reply ends with the text shown so far
        (mode ``stopped``).
        """
        question = history[-1].text if history else ""
        if not question.strip():
            return _fixed(phrases.EMPTY_HISTORY, "smalltalk", forward)
        if is_injection(question):
            return _fixed(phrases.declined(self.company), "declined", forward)
        if asks_for_person(question):
            return _fixed(phrases.HANDOFF_REQUESTED, "handoff", forward, handoff=True)
        if says_it_did_not_help(history):
            return _fixed(phrases.HANDOFF_NOT_HELPED, "handoff", forward, handoff=True)
        if any(not self.index.mentions(code) for code in record_references(raw_question or question)):
            # "Where is order 55123?": about one customer's record, which only staff can look up.
            return _fixed(phrases.HANDOFF_RECORD, "handoff", forward, handoff=True)
        if self.index.speller.unreadable(question):
            # Another language, or keys mashed: a person may read it; no passage would answer it.
            return _fixed(phrases.HANDOFF_NOT_UNDERSTOOD, "handoff", forward, handoff=True)
        announced = smalltalk.announces(question)
        if announced is not None:
            return _fixed(phrases.SMALLTALK_REPLIES[announced], "smalltalk", forward)
        first, followed = self._first_search(history)
        talk = None
        plain = smalltalk.plain(question)  # "thankss", "byeee": "thanks", "bye"
        if smalltalk.possible(plain):
            # A follow-up's search joins the message before; small talk is told by its own words.
            own = self.index.embedder.encode_query(plain) if followed or plain != question else first[1]
            talk = smalltalk.category(plain, own, self.index.embedder)
        if talk is not None:
            return _fixed(phrases.SMALLTALK_REPLIES[talk].format(company=self.company), "smalltalk", forward)
        asked = questions.split(question)
        whole = self._find(history, self._with_earlier(history, first, followed))
        if len(asked) > 1:
            found, conf, refusal, unsure = self._find_each(history, asked, whole)
        else:
            (found, conf, refusal), unsure = whole, False
            if found is not None and self._would_repeat(history, found):
                found, refusal = None, phrases.HANDOFF_NOTHING_MORE
        if found is None:
            return _fixed(refusal or self._not_found(question), "handoff", forward, handoff=True, confidence=conf)
        tentative = unsure or conf < self.sure_confidence
        if self.engine is None:
            answer = self._quote(found, forward)
        else:
            answer = self._generate(history, found, forward, should_stop)
            if answer.mode == "stopped":
                answer.confidence = conf
                return answer
        answer.confidence = conf
        if tentative:
            answer.handoff = True
            answer.text += phrases.TENTATIVE_SUFFIX
            if answer.stream_matches:
                forward(phrases.TENTATIVE_SUFFIX)
        return answer

    def _find(self, history: Sequence[prompts.Turn], search: Search) -> Found:
        """The evidence ``search`` found for the last message of ``history`` and the search's
        confidence; or no evidence, and the handoff to give instead (``None``: the "not found"
        one), when retrieval is too unsure, the passage does not speak of what the message
        names, or it lacks the kind of value asked for."""
        question = history[-1].text
        query, vector, hits, conf = search
        corrected = self.index.speller.correct(question)
        joined = query != corrected
        # The customer's case: this message, and for a follow-up what the one before told
        # ("i made a complaint 9 weeks ago" before "who can i go to now?"); not what it asked
        # ("how much is it for a phone worth $700?" before "how many times can i claim?"), typos
        # mended ("2 hoours" is a time).
        earlier = next((t.text for t in reversed(history[:-1]) if t.role == "customer"), None)
        told = questions.telling_part(earlier) if joined and earlier else ""
        case = self.index.speller.correct(f"{told} {question}".strip())
        hits, conf, worth = self._ranked(hits, conf, question, case=case)
        if not worth:
            return None, conf, None
        # A follow-up's confidence owes much to the message before ("can I take one to Yosemite?"
        # after a question about renting tents): what it names is checked however sure that is.
        unsure = conf < self.sure_confidence or joined
        # What the message names that no article mentions, found once for every passage checked.
        topic = self._unknown_topic(question) if unsure else None
        if topic is not None and not self._covers_topic(topic, hits[0], weak=conf < self.min_confidence):
            # "What's the price of delivery to Germany?": the shipping costs match best, and
            # the passage about shipping abroad, nearly as well, speaks of where it is going.
            covering = next(
                (
                    h
                    for h in hits[1:]
                    if h.score >= hits[0].score - TOPIC_ELSEWHERE_MARGIN and self._covers_topic(topic, h)
                ),
                None,
            )
            if covering is None:
                return None, conf, None
            hits = [covering, *(h for h in hits if h is not covering)]
            conf = confidence(hits)
            if conf < self.min_confidence:
                return None, conf, None
        if joined and len(tokenize(question)) >= OWN_WORDS:
            # The message before found the passage; which sentence answers is this message's to say.
            own = self.index.embedder.encode_query(corrected)
            mixed = (1 - OWN_SHARE) * vector + OWN_SHARE * own
            vector = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
        reply = _squashed(previous_reply(history)) if joined else ""
        found = evidence_of.select(
            self.index,
            hits[0],
            vector,
            query,
            hits[1:],
            said=lambda unit: bool(reply) and _already_said(unit, reply),
            own=corrected if joined else None,
        )
        # What a follow-up that asks in its own words asks for is its own: "what if I'm moving
        # somewhere you don't supply?" after "how much is the exit fee?" asks for no amount.
        asks = corrected if joined and _asks_on_its_own(corrected) else query
        if evidence_of.lacks_what_is_asked(asks, found):
            # "What's the price of Unlimited?": the passage saying what Unlimited is matched
            # best; the price stands in the same article's table of plans, a little further down.
            stating = evidence_of.stating_what_is_asked(asks, hits, VALUE_ELSEWHERE_MARGIN)
            if stating is None:
                return None, conf, None
            found = evidence_of.select(self.index, stating, vector, query)
        found = self._followed(found, query, vector)
        found = self._way_elsewhere(found, corrected, hits, vector, query)
        if not is_yes_no_question(corrected) and _opposite_only(corrected, (found.hit.passage.heading, *found.texts)):
            # "What's the upload speed on Fibre 500?": the plan's download speeds answer nothing.
            # (Asked yes or no, the opposite may answer: "can I put it outside?", "keep it inside".)
            return None, conf, None
        thing = questions.thing_asked_for(corrected) if unsure else None
        if thing is not None and not self._speaks_of(thing, found):
            # "Can I get a static IP address with home fibre?": the plans match, and none is one.
            return None, conf, phrases.not_found_about(thing)
        return found, conf, None

    def _followed(self, found: evidence_of.Evidence, query: str, vector: np.ndarray) -> evidence_of.Evidence:
        """``found``, or, where the answer it makes lacks the kind of value the question asks for
        and sends the reader to one other article for it ("This means a higher excess applies
        to flood claims - see Your excess explained"), what that article says, if it states
        such a value: a support agent follows the link, and so does the answer. ("What does a
        flood endorsement mean?" asks for no value: the sentence answers it.)"""
        kind = answer_types.asked(query)
        if kind is None or any(kind.states.search(text) for text in found.answering):
            return found
        entries = [e for e in self.index.entries if e is not found.hit.entry]
        titles = [e.title for e in entries]
        sent = {i for text in found.answering for i in evidence_of.sends_to(text, titles)}
        if len(sent) != 1:
            return found
        hits = self.index.search(query, k=SEARCH_DEPTH, vector=vector, within=entries[sent.pop()])
        if not hits:
            return found
        there = evidence_of.select(self.index, hits[0], vector, query, hits[1:])
        return there if kind.states.search(there.text) else found

    def _way_elsewhere(
        self, found: evidence_of.Evidence, question: str, hits: Sequence[PassageHit], vector: np.ndarray, query: str
    ) -> evidence_of.Evidence:
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
        there = evidence_of.select(self.index, way, vector, query)
        return there if any(_states_a_way(t) for t in there.answering) else found

    def _find_each(
        self, history: Sequence[prompts.Turn], asked: Sequence[str], whole: Found
    ) -> tuple[evidence_of.Evidence | None, float, str | None, bool]:
        """The evidence for each question of one message ("how much is express shipping and how
        long does it take?"), joined in the order asked, as ``_find`` gives it, and whether some
        question found none (the answer then comes with a handoff, for a person to answer it).
        Each later question is searched as a follow-up to the one before where it leans on it
        ("how long does it take?"). The first takes what the ``whole`` message found instead
        where that is surer: "can I keep my number if I switch to you?" says less alone than
        with "... and is there a charge for that"."""
        earlier = list(history[:-1])
        found: list[evidence_of.Evidence] = []
        confs: list[float] = []
        for question in asked:
            turns = [*earlier, prompts.Turn("customer", question)]
            result, conf, _ = self._find(turns, self._search(turns))
            if not found and not confs and whole[0] is not None and whole[1] >= conf:
                result, conf = whole[0], whole[1]
            confs.append(conf)
            if result is not None:
                found.append(result)
            earlier = [*turns, prompts.Turn("assistant", "")]
        if not found:
            return None, confs[0], None, True
        return evidence_of.joined(found), min(confs), None, len(found) < len(asked)

    def evidence(self, history: Sequence[prompts.Turn]) -> evidence_of.Evidence | None:
        """The evidence an answer to the last turn would be built from, or ``None`` when
        retrieval finds nothing it would answer with (the training of approved answers asks
        with it)."""
        query, vector, hits, conf = self._search(history)
        corrected = self.index.speller.correct(history[-1].text)
        hits, conf, worth = self._ranked(hits, conf, history[-1].text, case=corrected)
        if not worth:
            return None
        own = corrected if query != corrected else None
        return evidence_of.select(self.index, hits[0], vector, query, hits[1:], own=own)

    def _ranked(
        self, hits: list[PassageHit], conf: float, question: str, case: str | None = None
    ) -> tuple[list[PassageHit], float, bool]:
        """``hits`` and their confidence with a passage holding the code the customer quotes
        (``_code_first``), or stating a band of their measure (``_band_first``) or of a time or
        amount the customer's ``case`` gives (``_case_band_first``), first, and whether
        retrieval found something to answer ``question`` with: a match at the minimum
        confidence, or a weaker one that stands out, holds a code the customer quotes or states
        a band of the age, weight or size they give."""
        kinds = _measures_given(question)
        hits, conf = _code_first(self.index.entries, hits, conf, question)
        hits, conf = _band_first(hits, conf, kinds)
        hits, conf = _case_band_first(hits, conf, case or question)
        worth = bool(hits) and (
            conf >= self.min_confidence
            or _stands_out(hits, conf, self.min_confidence)
            or _quotes_its_code(self.index.entries, hits, question, conf, self.min_confidence)
            or _states_their_band(hits, kinds, conf, self.min_confidence)
        )
        return hits, conf, worth

    def _search(self, history: Sequence[prompts.Turn]) -> Search:
        """What to search for, its vector, the passages found and the confidence."""
        first, followed = self._first_search(history)
        return self._with_earlier(history, first, followed)

    def _first_search(self, history: Sequence[prompts.Turn]) -> tuple[Search, bool]:
        """The search for the last message, with the one before when it reads as a follow-up
        (generation/answering/followup.py), typos mended; and whether it did read as one."""
        query, followed = followup.retrieval_query(
            history, new_topic=self._names_something_new, mend=self.index.speller.correct
        )
        return self._run(query), followed

    def _with_earlier(self, history: Sequence[prompts.Turn], first: Search, followed: bool) -> Search:
        """``first``, or, for a message that does not read as a follow-up and finds no sure
        match alone, the search with the message before when that finds one ``FOLLOWUP_GAIN``
        surer ("how far ahead do I need to tell you?" after a question about moving house). A
        follow-up is searched on the answer before (``_on_the_answer_before``), or alone where
        it has ``OWN_WORDS`` words of its own and alone finds a match ``FOLLOWUP_ALONE`` sure in
        another article."""
        if followed:
            on_it = self._on_the_answer_before(history, first)
            question = history[-1].text
            if len(tokenize(question)) < OWN_WORDS:
                return on_it
            # "what if the parcel never arrives?" after "how much is express shipping?" reads
            # as a follow-up, and says enough to be answered alone: where alone it finds a sure
            # match in another article, that is what it asks about.
            alone = self._run(question)
            if alone[3] >= FOLLOWUP_ALONE and alone[2] and on_it[2] and alone[2][0].entry is not on_it[2][0].entry:
                return alone
            return on_it
        if first[3] >= self.sure_confidence:
            return first
        joined, followed = followup.retrieval_query(
            history, new_topic=self._names_something_new, joined=True, mend=self.index.speller.correct
        )
        if not followed:
            return first
        second = self._run(joined)
        return self._on_the_answer_before(history, second) if second[3] >= first[3] + FOLLOWUP_GAIN else first

    def _on_the_answer_before(self, history: Sequence[prompts.Turn], search: Search) -> Search:
        """A follow-up's ``search`` with the passages the bot's previous reply was built from
        ``FOLLOWUP_STAY`` ahead: "how much?" after the answer about international shipping is
        about international shipping, where the domestic shipping costs match it as well; and
        those holding the words the follow-up adds up to ``FOLLOWUP_OWN`` ahead ("and to
        canada?")."""
        reply = previous_reply(history)
        query, vector, hits, _ = search
        if not reply or not hits:
            return search
        said = _squashed(reply)
        units = [(h, h.entry.outline.units[h.passage.start : h.passage.end]) for h in hits]
        before = {id(h) for h, texts in units if any(_already_said(u, said) for u in texts)}
        own = self._own_terms(history)
        if not before and not own:
            return search

        def holds_own(h: PassageHit) -> float:
            if not own:
                return 0.0
            present = set(tokenize(f"{h.title} {h.passage.heading} {h.passage.text}"))
            return sum(w for t, w in own.items() if t in present) / sum(own.values())

        ranked = sorted(
            hits,
            key=lambda h: -(h.score + (FOLLOWUP_STAY if id(h) in before else 0.0) + FOLLOWUP_OWN * holds_own(h)),
        )
        return query, vector, ranked, confidence(ranked)

    def _own_terms(self, history: Sequence[prompts.Turn]) -> dict[str, float]:
        """The words of a follow-up that the messages before it did not say, that the articles
        use, with their weight (IDF): "canada" in "and to canada?" after "how much is express
        shipping?"."""
        earlier = {t for turn in history[:-1] if turn.role == "customer" for t in tokenize(turn.text)}
        corrected = self.index.speller.correct(history[-1].text)
        return {t: self.index.idf(t) for t in tokenize(corrected) if t not in earlier and self.index.idf(t) > 0}

    def _would_repeat(self, history: Sequence[prompts.Turn], found: evidence_of.Evidence) -> bool:
        """Whether the last message asks nothing new, and its answer would be what the bot's
        previous reply already said: repeating it would tell the customer nothing, a person may.
        A message asks nothing new when it names nothing the help centre mentions ("why?", "are
        you sure?") or is no question ("i reported it"); "and on saturday?" may find its answer
        in the same sentence as the question before, and gets it again, as does a question what
        to do or whether it can be done ("ok what do i do", "can it be undone?"), typos mended."""
        reply = previous_reply(history)
        if not reply or not found.texts:
            return False
        # As the speller mends it: "and her moobile?" names the articles' "mobile".
        message = self.index.speller.correct(history[-1].text)
        if answer_types.asked(message) is not None or _ASKS_WHAT_TO_DO.search(message):
            # "how much?", "ok what do i do?", "can it be undone?": the answer before may hold
            # it, and is worth saying again as the answer to this question.
            return False
        words = [w for w in _OWN_WORD.findall(message.lower()) if w not in STOPWORDS | _FILLERS]
        if questions.asks(message) and any(self.index.mentions(w) for w in words):
            return False
        said = _squashed(reply)
        return all(_already_said(text, said) for text in found.answering)

    def _names_something_new(self, text: str) -> bool:
        """Whether ``text`` names something no article mentions; where it asks of something
        said before ("can i pay it in instalments? can't afford it till payday"), what its
        asking part names."""
        asking = questions.asking_part(text)
        if asking != text and questions.leans(asking):
            text = asking
        return self.index.speller.unknown_topic(text) is not None

    def _run(self, query: str) -> Search:
        query = self.index.speller.correct(query)
        vector = self.index.embedder.encode_query(query)
        hits = self.index.search(query, k=SEARCH_DEPTH, vector=vector)
        mended = self._mended_in_context(query, hits)
        if mended != query:
            # The search goes by what the customer meant; the query stays as written, so that a
            # follow-up is still told from a message on its own.
            vector = self.index.embedder.encode_query(mended)
            hits = self.index.search(mended, k=SEARCH_DEPTH, vector=vector)
        return query, vector, hits, confidence(hits)

    def _mended_in_context(self, query: str, hits: Sequence[PassageHit]) -> str:
        """``query`` with each word that English seldom uses and no article does (``RARE_IN_ENGLISH``),
        one edit from one word of the passages found and no other, written as that word: a typo
        that makes another word ("how much per moth" for "month", "the electric miter" for
        "meter", "the pane door" for "plane") is read in the passages' context. Where none of
        their words is one edit from it, the first passage's article's are; of two words, the
        one it writes with a letter left out is meant ("cary": "carry", not "care")."""
        speller = self.index.speller
        rare = {
            word.lower()
            for word in _CONTEXT_WORD.findall(query)
            if len(word) >= CONTEXT_TYPO_LENGTH
            and not speller.known(word)
            and speller.english_count(word.lower()) < RARE_IN_ENGLISH
        }
        if not rare:
            return query
        words = _words_of(*(f"{h.title} {h.passage.heading} {h.passage.text}" for h in hits[:CONTEXT_HITS]))
        meant: dict[str, str] = {}
        for lower in rare:
            near = _one_edit_from(lower, words)
            if not near and hits:
                # None there: the first passage's article may use it ("a cary on suitcase": its
                # "carry-on" stands in another section).
                near = _one_edit_from(lower, _article_words(hits[0].title, hits[0].entry.outline.units))
            # Of two, the one the typo leaves a letter out of, the commonest slip ("cary": "carry",
            # not "care").
            left_out = {w for w in near if len(w) == len(lower) + 1}
            if len(near) == 1 or len(left_out) == 1:
                meant[lower] = (left_out if len(left_out) == 1 else near).pop()
        return _CONTEXT_WORD.sub(lambda m: meant.get(m.group(0).lower(), m.group(0)), query)

    # --- answering ------------------------------------------------------------------------------
    def _covers_topic(self, topic: str, hit: PassageHit, weak: bool = False) -> bool:
        """Whether ``hit``'s passage speaks of ``topic``, something the question names that no
        article mentions ("Can I pay my bill with bitcoin?", ``_unknown_topic``): one of
        the passage's words must mean nearly the same (MiniLM, cosine ``TOPIC_COVERED``:
        "Toronto" is covered by "Canada", "dryer" by "dry"; "bitcoin" is not by "pay"). A
        ``weak`` match (below the minimum confidence, answered only because it stands out) covers
        no such name: a word of the same field is near it there ("airbus" and "aircraft",
        "scooter" and "wheelchairs"), and the passage is about something else. A place is
        covered by a passage that speaks of places abroad (``PLACE_NAME``, ``PLACE_WORD``), and a
        word one slip from one of the passage's article's is a typo of it, however weak the match
        ("esim wont instill": "Install on this phone"; "a cary on suitcase": "carry-on bag")."""
        if _one_edit_from(topic.lower(), _article_words(hit.title, hit.entry.outline.units)):
            return True
        words = _words_of(hit.title, hit.passage.heading, hit.passage.text)
        if weak or not words:
            return False
        # One embedding of the name, for the passage's words and for "city" and "country".
        named, vectors = self.index.word_vectors(topic.lower(), [*words, *_PLACES])
        vectors, places = vectors[: len(words)], vectors[len(words) :]
        if float((vectors @ named).max()) >= TOPIC_COVERED:
            return True
        country = places[_PLACES.index("country")]
        return _names_a_place(named, places) and float((vectors @ country).max()) >= PLACE_WORD

    def _unknown_topic(self, question: str) -> str | None:
        """What ``question`` names that no article mentions (`Speller.unknown_topic`), as the
        part of it that asks sees it: a place the customer only tells of ("i'm back home in ohio
        now", "visiting her dad in phoenix, is that allowed?") says where they are or go, and
        is no topic; what the asking part itself names is ("can I pay with bitcoin?")."""
        speller = self.index.speller
        topic = speller.unknown_topic(question)
        asking = questions.asking_part(question)
        if topic is None or asking == question:
            return topic
        own = speller.unknown_topic(asking)
        if own is not None:
            return own
        if _went_to(topic, speller.correct(question)):  # "goig to tenerife": going to it
            return None
        named, places = self.index.word_vectors(topic.lower(), list(_PLACES))
        return None if _names_a_place(named, places) else topic

    def _speaks_of(self, thing: str, found: evidence_of.Evidence) -> bool:
        """Whether the passage ``found`` comes from, or its evidence, speaks of ``thing``, which
        the customer asks whether the company has: each word naming it is there, or one within
        ``THING_COVERED`` of it ("classes" for "class"; not "student" for "basic"). The
        company's own name needs no mention."""
        hit = found.hit
        texts = (hit.title, hit.passage.heading, hit.passage.text, *found.texts)
        present = set(tokenize(" ".join(texts)))
        company = set(tokenize(self.company))
        missing = [w for w in questions.named_words(thing) if not (set(tokenize(w)) <= present | company)]
        if not missing:
            return True
        if any(_DISCOUNT.match(w) for w in missing) and not any(_STATES_A_CUT.search(t) for t in texts):
            return False
        words = _words_of(*texts)
        for word in missing:
            named, vectors = self.index.word_vectors(word, words)
            if not words or float((vectors @ named).max()) < THING_COVERED:
                return False
        return True

    def _not_found(self, question: str) -> str:
        """The honest handoff, naming what the help centre has nothing about when the question
        names it ("I couldn't find anything about kayaks ..."); a word one slip from a word of the
        articles is not named: "nothing about pane" would mock a customer who meant "plane"."""
        topic = self._unknown_topic(question)
        if topic is None or self.index.speller.one_edit_of_theirs(topic):
            return phrases.HANDOFF_UNKNOWN
        return phrases.not_found_about(topic)

    def _sources(self, found: evidence_of.Evidence) -> list[dict[str, Any]]:
        source: dict[str, Any] = {"title": found.hit.title, "score": round(found.hit.score, 3)}
        if found.hit.passage.heading:
            source["section"] = found.hit.passage.heading
        if found.hit.entry.url:
            source["url"] = found.hit.entry.url
        return [source]

    def _quote(self, found: evidence_of.Evidence, forward: Forward) -> Answer:
        """The evidence as it stands in the article."""
        text = found.text
        forward(text)
        return Answer(text, "quote", sources=self._sources(found), grounded=True, evidence=found.texts)

    def _verifier(self, history: Sequence[prompts.Turn], found: evidence_of.Evidence) -> Verifier:
        """The gate of a model that may paraphrase (a ``GENERATION_MODEL``)."""
        support = facts.Support(
            "\n".join([found.hit.title, *found.texts, *(t.text for t in history if t.role == "customer"), self.company])
        )
        return Grounded(support, found.text)

    def _generate(
        self,
        history: Sequence[prompts.Turn],
        found: evidence_of.Evidence,
        forward: Forward,
        should_stop: StopCheck,
    ) -> Answer:
        if self.restating:
            return self._restate(history, found, forward, should_stop)
        stream = self._submit(history, found)
        gate = SentenceGate(self._verifier(history, found), forward)
        for _ in stream:
            if not gate.feed(stream.text) or gate.full:
                stream.cancel()
            if should_stop():
                stream.cancel()
                text = gate.text
                return Answer(text or "(stopped)", "stopped", stats=stream.stats, stream_matches=bool(text))
        gate.finish(stream.text)
        written = stream.text.strip()
        if gate.sentences:
            return Answer(
                gate.text,
                "model",
                sources=self._sources(found),
                grounded=True,
                candidates=[written],
                stats=stream.stats,
                evidence=found.texts,
            )
        quote = self._quote(found, forward)
        quote.candidates, quote.stats = [written], stream.stats
        return quote

    def _restate(
        self,
        history: Sequence[prompts.Turn],
        found: evidence_of.Evidence,
        forward: Forward,
        should_stop: StopCheck,
    ) -> Answer:
        """The offline responder's reply: a restatement of the evidence, held to it token by
        token and streamed as it is written (``EagerStream``)."""
        speller = self.index.speller
        allowed = Restatements(
            found.texts,
            speller.correct(history[-1].text),
            first=found.best,
            ordinary=speller.ordinary,
            known=speller.known,
        )
        stream = self._submit(history, found, allowed)
        cap = len(split_sentences(found.text)) if found.whole else MAX_SENTENCES
        eager = EagerStream(allowed, forward, max_sentences=max(cap, MAX_SENTENCES))
        for _ in stream:
            eager.feed(stream.text)
            if eager.full:
                stream.cancel()
            if should_stop():
                stream.cancel()
                text = eager.sent
                return Answer(text or "(stopped)", "stopped", stats=stream.stats, stream_matches=bool(text))
        written = stream.text.strip()
        reply = eager.finish(stream.text)
        # The model's reply, unless it stopped before writing a whole sentence of it (a timeout)
        # and the evidence finished it.
        sentences = split_sentences(written)
        whole = sentences if written.endswith((".", "!", "?")) else sentences[:-1]
        own = bool(whole) and reply.startswith(whole[0])
        return Answer(
            reply,
            "model" if own else "quote",
            sources=self._sources(found),
            grounded=True,
            candidates=[written],
            stats=stream.stats,
            evidence=found.texts,
        )

    # --- helpers ------------------------------------------------------------------------------
    def _submit(
        self, history: Sequence[prompts.Turn], found: evidence_of.Evidence, allowed: Restatements | None = None
    ) -> TokenStream:
        assert self.engine is not None
        built = prompts.build_prompt(
            tokenizer=self.engine.tokenizer,
            context_window=self.engine.context_window,
            max_new_tokens=self.max_new_tokens,
            system=prompts.instructions(self.company),
            snippets=[prompts.Snippet(found.hit.title, found.text, found.hit.passage.heading)],
            history=list(history)[-prompts.HISTORY_TURNS :],
        )
        if allowed is not None:
            params = SamplingParams(
                max_new_tokens=self.max_new_tokens,
                timeout_s=self.timeout_s,
                stop=built.stop,
                constraint=allowed,
            )
        else:
            params = replace(
                self.sampling, max_new_tokens=self.max_new_tokens, timeout_s=self.timeout_s, stop=built.stop
            )
        return self.engine.submit(built.ids, params)


def responder_for_worker() -> Responder:
    """The responder as the worker runs it: the live index and, once it is loaded, the engine."""
    from django.conf import settings  # noqa: PLC0415 - settings are read when a reply is made

    from generation import runtime  # noqa: PLC0415 - the runtime loads torch models
    from generation.knowledge.index import get_index  # noqa: PLC0415 - as above

    try:
        engine: Engine | None = runtime.get_engine()
    except runtime.ModelUnavailable:
        engine = None  # quote the knowledge base until the responder is trained
    return Responder(
        index=get_index(),
        engine=engine,
        company=settings.COMPANY_NAME,
        min_confidence=settings.RETRIEVAL_MIN_CONFIDENCE,
        sure_confidence=settings.RETRIEVAL_SURE_CONFIDENCE,
        max_new_tokens=settings.GENERATION_MAX_NEW_TOKENS,
        timeout_s=settings.GENERATION_TIMEOUT,
        restating=not settings.GENERATION_MODEL,
        sampling=SamplingParams(
            temperature=settings.GENERATION_TEMPERATURE,
            top_p=settings.GENERATION_TOP_P,
            no_repeat_ngram_size=settings.GENERATION_NO_REPEAT_NGRAM,
        ),
    )


def prefetch_query(question: str) -> None:
    """Start embedding the customer's ``question`` before ``Responder.answer`` asks for its
    vector: a worker calls this as soon as it takes the task, and claims the reply and reads
    the index and the history meanwhile. Questions declined or handed off before retrieval,
    and follow-ups (searched together with the question before), are left alone."""
    from generation.knowledge.embedder import Embedder  # noqa: PLC0415 - loads the embedding model
    from generation.knowledge.index import get_index  # noqa: PLC0415 - as above

    if (
        question.strip()
        and not is_injection(question)
        and not asks_for_person(question)
        and not followup.depends_on_earlier(question)
    ):
        Embedder.get().encode_query_soon(get_index().speller.correct(question))
