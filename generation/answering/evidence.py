"""The evidence of an answer: the one to three units (sentences, or a short list with its
lead-in) of the best passage that answer the question, in reading order.

A passage is retrieval's unit; an answer is smaller. Each unit of the best passage is scored by
its cosine to the question (read with its title and heading), by how much of the question's
rarer words it contains, by whether it states the kind of value asked for and by whether its
band holds the amount the customer names ("7 hours late": "more than 6 hours late") or its label
names their case ("im on classic": "Classic: $35 per flight"); the best unit leads, and
another joins it when the best cannot stand alone (it ends with ``:``, or the next starts
"It ..."/"This ..."), when the question asks yes or no (the next sentence of the passage
says how), when it answers nearly as well (two such at most), or, where the best names no
band holding the customer's amount, when its band holds it and it answers nearly as well ("No
single bag can weigh more than 32 kg" for "a 35kg bag"); and a short section's first sentence,
which states its rule, joins a later one that answers best when it answers not far below it
("If your child turns 2 before the return flight, they will need their own seat" before "Children
can't travel on a lap once they have turned 2"). A short passage is the
evidence whole, but for a sentence that says what the article is about ("This article explains
..."), which answers nothing; a lead-in that answers best ("We offer several ways to pay your bill:") comes
with its list, and so does a list three of whose items answer alike (each bag's price). An answer
starts at ``Evidence.best``: the best unit, or before it the lead-in of its list, the rule
that states the value asked for before the exception that scored best, the way that works
before a "no" to another ("call us" before "not through chat"), the sentence a best unit
points back at ("To do this, ..."), asked yes or no, a "no" before it that answers nearly
as well ("We don't pay compensation when ... such as weather" before how to claim), or a unit
before it that answers as well (``TIED``). A
follow-up's own message says what kind of value it asks for, and whether it asks yes or no.

The best unit comes from the best passage, or from a passage of the same article that scores
nearly as well: retrieval ranks passages with their context, and a unit of another article's
passage that matches the question better on its own is a stray sentence more often than the
answer (docs/benchmarks.md). The unit that joins it may come from anywhere in the article: a
long article's answer is often split between the section that matched and one further on, and
a sentence of another section may answer better than any of the passage found (it then stays).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from generation.answering import answer_types, quantities
from generation.answering.gate import has_negation, is_yes_no_question, says_no
from generation.knowledge.bm25 import tokenize
from generation.knowledge.index import KnowledgeIndex, PassageHit
from generation.knowledge.passages import GOES_ON, split_sentences, table_cells

KEYWORD_WEIGHT = 0.25
# A second unit that scores within this of the best joins it.
ALSO_ANSWERS_MARGIN = 0.1
MAX_UNITS = 3
# The units (after the best) that answer within ``ALSO_ANSWERS_MARGIN`` of it and join it, the
# best-scored first: "Starter costs $9 ...", "Team costs $29 ..." beside "Business costs $79 ..."
# (one alone would read as the only other plan).
RUNNERS_UP = 2
# Units this close to the best one belong with it: where too many answer, they stay first, the
# nearest first; farther ones by how well they answer.
NEIGHBOURS = 2
# Another passage of the best passage's article that scores within this of it is looked into
# too: a long article's answer may sit in the section next to the one that matched best.
SAME_ARTICLE_MARGIN = 0.03
MAX_CHARS = 420
# Evidence shorter than this is one thin sentence ("check whether one of them is still showing
# as Pending in the app"): the next sentence of its passage, which most often says what it means
# ("Pending payments ... drop off by themselves within 7 days"), joins where it answers within
# ``THIN_MARGIN`` of the best one (150 characters or a margin of 0.2 added as many right answers
# and lengthened more replies).
THIN_CHARS = 120
THIN_MARGIN = 0.15
LIST_MAX_CHARS = 600
# This many items of one list answering nearly as well as the best are alternatives: the list
# comes whole.
LIST_ALTERNATIVES = 3
# An earlier unit that answers within this of the best is where the answer starts: the scores
# do not tell the two apart (0.06 lengthened the long-article sets' answers for no more right).
TIED = 0.03
# The first sentence of the best unit's short passage joins it when it answers within this of
# it: a section's first sentence states its rule.
OPENING_MARGIN = 0.2
# A passage this short is the answer whole: every fact stays in its context.
WHOLE_PASSAGE_CHARS = 300
# A unit stating the kind of value the question asks for ("how long" -> a duration) is likelier
# the answer than one that only shares the question's words.
ANSWER_TYPE_BONUS = 0.06
# A unit whose band holds the amount the customer names ("landed 7 hours late": "Arrival more
# than 6 hours late: $200") is likelier the answer than its neighbours, the other bands.
QUANTITY_FIT = 0.1
# So is one that holds the code the customer names ("it says CI-09": "CI-09: your booking
# includes a service ..."), beside those about the other codes.
CODE_FIT = 0.1
# So is one labelled with what the customer says their case is ("i'm on classic": "Classic: $35
# per passenger per flight"), beside the other labels of its list.
LABEL_FIT = 0.1
# A label picks its unit only where at most this many of the article's units carry it: a table's
# column names label every row.
LABEL_UNITS = 2
# A word the customer writes in capitals is such a code where at most this many of the article's
# units hold it.
CAPITALS_UNITS = 2
# A sentence of the article that asks ("Visiting for a long weekend?") shares the customer's
# words and answers nothing: it scores this much lower.
ASKS_PENALTY = 0.15
# So does one that says what the article is about ("This article explains how to dock correctly,
# what to do when a station is full, ..."): it names the question's topics and answers none.
_ABOUT_ITSELF = re.compile(
    r"^\W*(?:this|our|the following) (?:article|guide|page|section|help article)\s+"
    r"(?:explains|covers|describes|is about|sets out|shows|tells you|walks you|answers|lists|looks at|will)\b",
    re.IGNORECASE,
)
_CONTINUES = ("it ", "this ", "that ", "these ", "those ", "they ", "there ", "otherwise", "however", "but ")
# A sentence stating a figure ("It costs £10.00"), over one stating a value in words ("free").
_FIGURE = re.compile(r"\d")
_PLACE = answer_types.named("place")


# How a sentence opens when it points back at what the one before says or asks of the customer
# ("To do this, ...", "If so, ...", "This means ..."). A pronoun that stands for a thing ("They
# never expire") is left alone: the question names the thing ("is my gift card still valid?").
_REFERS_BACK = re.compile(
    r"^(?:to do (?:this|that|so)|if (?:so|not)|in (?:this|that|which) case|(?:this|that) means|"
    r"otherwise|however|because of (?:this|that)|for (?:this|that) reason|once (?:this|that|you've done)|"
    r"after (?:this|that|doing)|(?:this|that) (?:is|way)|that's)\b",
    re.IGNORECASE,
)


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` opens by pointing back at the sentence before it."""
    return bool(_REFERS_BACK.match(sentence.lstrip()))


@dataclass(frozen=True)
class Evidence:
    hit: PassageHit  # the passage the best unit comes from
    units: tuple[int, ...]  # unit positions in the article's outline, in reading order
    texts: tuple[str, ...]
    score: float  # the best unit's score
    # Which of ``texts`` an answer starts by: the best-scored unit, the lead-in of its list, or
    # an earlier unit that scored nearly as well and states the kind of value asked for.
    best: int = 0
    # The evidence reads as one piece, none of it to be left out: a lead-in and its list ("We
    # offer several ways to pay your bill:" and the ways), or the answers to the questions of
    # one message (``joined``). (A restatement runs as far as any evidence: writing.py.)
    whole: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    @property
    def answering(self) -> tuple[str, ...]:
        """The units an answer is made of: from ``best`` on."""
        return self.texts[self.best :]


def joined(found: Sequence[Evidence]) -> Evidence:
    """The evidence for the questions of one message, one after the other, each unit once: the
    answer starts where the first one's does and is all of it, each later one from where its
    own answer starts (``Evidence.best``). Its ``best`` is the earliest of their best units, so
    that an answer that starts there holds each question's: a later question's answer may be a
    unit the first one's evidence holds before its own best ("does someone have to be in for
    the fitting? ... my son is 15, could he let the engineer in?"). Sources name the first
    one's article; ``units`` keeps each one's positions in its own article."""
    texts: list[str] = []
    units: list[int] = []
    best = found[0].best
    for n, each in enumerate(found):
        start = each.best if n else 0
        for position, text in zip(each.units[start:], each.texts[start:], strict=True):
            if text not in texts:
                texts.append(text)
                units.append(position)
        best = min(best, texts.index(each.texts[each.best]))
    first = found[0]
    whole = len(found) > 1 or first.whole
    return Evidence(hit=first.hit, units=tuple(units), texts=tuple(texts), score=first.score, best=best, whole=whole)


# A code: a few letters, then digits ("CI-09", "E27", "ES-409"); not "5G", "24-hour" or "1st".
_CODE = re.compile(r"\b[a-z]{1,3}-?\d{2,}\b", re.IGNORECASE)
# A word a customer writes in capitals, as it stands on an email or a screen ("CSTD"), or a
# letter that stands alone as one ("the E next to my reading"; not "I" nor "A").
_CAPITALS = re.compile(r"\b(?:[A-Z]{3,6}|(?<![.'’-])[B-HJ-Z](?![.'’-]\w))\b")
_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# A unit's labels: the words before a colon that opens it or one of its "; "-separated parts
# ("Classic: $35 per passenger per flight", "Plan: Lumen Essentials; Buildings: £27 a year").
_LABEL = re.compile(r"(?:^|;\s+)([^:;.!?]{1,40}):\s")


def quoted_codes(question: str) -> list[str]:
    """The codes ``question`` quotes: a few letters with digits ("CI-09", "E27"), and words in
    capitals ("my confirmation says CSTD") unless the customer writes in capitals throughout
    (a third of their words or more)."""
    codes = _CODE.findall(question)
    capitals = _CAPITALS.findall(question)
    if capitals and len(capitals) * 3 < len(_WORD.findall(question)):
        codes += capitals
    return codes


# Where a sentence sends the reader to an article by its title: "... see Your excess explained",
# "as explained in our article on travelling with pets", "read our help article on ...".
_SENDS = (
    r"(?:\bsee|\bread|\barticles? (?:on|about)|\b(?:explained|described|covered|set out) in)\s+"
    r"(?:(?:our|the)\s+)?(?:(?:help\s+)?articles?\s+(?:on|about)\s+)?"
)
_SENDS_WORD = re.compile(r"\b(?:see|read|articles?|guide|page|(?:explained|described|covered|set out) in)\b")
# "our article on choosing your seat" names "Choosing your seat and extra legroom" by the words
# its title starts with (two or more).
_ARTICLE_ON = re.compile(r"\barticles? (?:on|about) ((?:[\w'’-]+ )+[\w'’-]+)")


def sends_to(sentence: str, titles: Sequence[str]) -> list[int]:
    """Which of ``titles`` ``sentence`` sends the reader to: "see" (or "read", "explained in",
    "our article on") and the title, or the words it starts with after "article on"; or "the
    <title> article" ("see the lost and found article")."""
    lower = sentence.lower()
    if not _SENDS_WORD.search(lower):
        return []  # most sentences: no title is looked for
    named = [m.group(1) for m in _ARTICLE_ON.finditer(lower)]
    sent = []
    for i, title in enumerate(titles):
        name = re.escape(title.lower())
        if (
            re.search(rf"{_SENDS}{name}\b", lower)
            or re.search(rf"\b(?:our|the)\s+{name}\s+(?:article|guide|page)\b", lower)
            or any(title.lower().startswith(words) for words in named)
        ):
            sent.append(i)
    return sent


def holds_word(text: str, token: str) -> bool:
    """Whether ``text`` holds ``token`` as a word, case aside."""
    return re.search(rf"\b{re.escape(token)}\b", text, re.IGNORECASE) is not None


def _another_code(text: str, codes: Sequence[str]) -> bool:
    """Whether ``text`` is about a code, and none of ``codes``."""
    found = [c.lower() for c in _CODE.findall(text)]
    return bool(found) and not any(c.lower() in found for c in codes)


def _labelled(units: Sequence[str], named: set[str]) -> set[int]:
    """The positions of ``units`` labelled with words the customer's message all names
    (``named``, its tokens), each such label carried by at most ``LABEL_UNITS`` of them."""
    carriers: dict[frozenset[str], set[int]] = {}
    for p, unit in enumerate(units):
        for label in _LABEL.findall(unit):
            words = frozenset(tokenize(label))
            if words:
                carriers.setdefault(words, set()).add(p)
    return {p for words, held in carriers.items() if words <= named and len(held) <= LABEL_UNITS for p in held}


def _listed(hit: PassageHit, lead: int, items: Sequence[int], score: float) -> Evidence:
    """The lead-in ``lead`` with its list ``items``, as much of it as fits in ``LIST_MAX_CHARS``
    (one item alone would read as the only one)."""
    units = hit.entry.outline.units
    listed = [lead]
    for p in items:
        if sum(len(units[q]) + 1 for q in listed) + len(units[p]) > LIST_MAX_CHARS:
            break
        listed.append(p)
    texts = _as_read(units, hit.entry.outline.lead_ins, listed)
    return Evidence(hit=hit, units=tuple(listed), texts=texts, score=score, best=0, whole=True)


def _as_read(units: Sequence[str], lead_ins: Sequence[int], positions: Sequence[int]) -> tuple[str, ...]:
    """The texts of ``units`` at ``positions``, as evidence reads them: a list item that runs on
    to the next ("are on a tram without a valid ticket;", "... glovebox; and") ends with "."
    where no item of its list follows it there."""
    texts: list[str] = []
    for i, p in enumerate(positions):
        text = units[p]
        after = positions[i + 1] if i + 1 < len(positions) else -1
        if lead_ins[p] >= 0 and GOES_ON.search(text) and not (after >= 0 and lead_ins[after] == lead_ins[p]):
            text = GOES_ON.sub("", text) + "."
        texts.append(text)
    return tuple(texts)


def keyword_coverage(question_terms: Sequence[str], text: str, idf: dict[str, float]) -> float:
    """Share of the question's rare-word weight (IDF) that ``text`` contains."""
    terms = set(question_terms)
    total = sum(idf.get(t, 1.0) for t in terms)
    if not total:
        return 0.0
    present = set(tokenize(text))
    return sum(idf.get(t, 1.0) for t in terms if t in present) / total


def answer_type_bonus(kind: answer_types.AnswerType | None, text: str) -> float:
    """``ANSWER_TYPE_BONUS`` when ``text`` states a value of ``kind``, the kind the question
    asks for (``answer_types.asked``)."""
    return ANSWER_TYPE_BONUS if kind is not None and kind.states.search(text) else 0.0


def lacks_what_is_asked(question: str, found: Evidence) -> bool:
    """Whether ``question`` asks only for a kind of value (an amount, a duration, a time...)
    that neither the passage ``found`` comes from nor the evidence holds: then it does not
    answer it. (The evidence may hold a sentence of the same article's next passage: "Same-day
    switch costs $45" after the passage that says what Same-day switch is.)"""
    kind = answer_types.asked(question, only=True)
    return kind is not None and not any(kind.states.search(t) for t in (found.hit.passage.text, *found.texts))


def stating_what_is_asked(question: str, hits: Sequence[PassageHit], margin: float) -> PassageHit | None:
    """The best of ``hits`` after the first, from the first one's article and within ``margin``
    of its score, whose passage states the kind of value ``question`` asks for only; ``None``
    when there is none."""
    kind = answer_types.asked(question, only=True)
    if kind is None or not hits:
        return None
    first = hits[0]
    return runner_up(hits, margin, lambda h: h.entry is first.entry and kind.states.search(h.passage.text) is not None)


def runner_up(hits: Sequence[PassageHit], margin: float, accepts: Callable[[PassageHit], bool]) -> PassageHit | None:
    """The best of ``hits`` after the first, within ``margin`` of its score, that ``accepts``
    takes; ``None`` when there is none."""
    return next((h for h in hits[1:] if h.score >= hits[0].score - margin and accepts(h)), None)


def _nothing_said(_: str) -> bool:
    return False


def select(
    index: KnowledgeIndex,
    hit: PassageHit,
    vector: np.ndarray,
    question: str,
    later: Sequence[PassageHit] = (),
    *,
    said: Callable[[str], bool] = _nothing_said,
    own: str | None = None,
) -> Evidence:
    """The units of ``hit``'s passage that answer ``question`` best, in reading order; a passage
    of the same article among ``later`` (the hits after it) that scores nearly as well is
    looked into too. ``said`` tells the units the bot's reply before already said: they do not
    join the best one for answering nearly as well. ``own`` is a follow-up's own message, where
    ``question`` joins the one before: the kind of value it asks for is the one sought ("and
    how many times can I claim?" after "I have Protect on my phone": a count, not a phone
    number), or, where it asks for none ("and to Canada?"), the kind the two ask for."""
    terms = tokenize(question)
    idf = index.bm25.idf
    units = hit.entry.outline.units
    # Each unit as embedded with its article's title and section heading: "Tell us early: Let us
    # know at least 3 weeks before you move" answers "how far ahead do I need to tell you?",
    # the bare sentence less so (docs/benchmarks.md).
    vectors = hit.entry.context_vectors
    passage = hit.passage
    ranges = [range(passage.start, passage.end)] + [
        range(o.passage.start, o.passage.end)
        for o in later
        if o.entry is hit.entry and o.passage is not passage and o.score >= hit.score - SAME_ARTICLE_MARGIN
    ]
    cosines = vectors @ vector
    kind = (own and answer_types.asked(own)) or answer_types.asked(question)  # once: every unit is scored against it
    amounts = quantities.asked(question)
    # A word in capitals picks its sentence only where few of the article's hold it: "CSTD" is a
    # fare's code, "PIN" is all over the article about number transfers.
    asked_codes = [
        c
        for c in quoted_codes(question)
        if _CODE.fullmatch(c) or sum(holds_word(u, c) for u in units) <= CAPITALS_UNITS
    ]

    labelled = _labelled(units, set(tokenize(question)))

    def fit(p: int) -> float:
        band = QUANTITY_FIT if amounts and quantities.fits(amounts, units[p]) else 0.0
        named = CODE_FIT if any(holds_word(units[p], code) for code in asked_codes) else 0.0
        return band + max(named, LABEL_FIT if p in labelled else 0.0)

    def scored(p: int) -> float:
        return (
            float(cosines[p])
            + KEYWORD_WEIGHT * keyword_coverage(terms, units[p], idf)
            + answer_type_bonus(kind, units[p])
            + fit(p)
            - (ASKS_PENALTY if units[p].rstrip().endswith("?") or _ABOUT_ITSELF.match(units[p]) else 0.0)
        )

    # The best unit comes from the passages found; the one that joins it from anywhere in the
    # article. Elsewhere only units whose cosine could reach the margin are scored whole (the
    # bonuses add at most KEYWORD_WEIGHT + ANSWER_TYPE_BONUS): a long article has hundreds.
    found = {position for positions in ranges for position in positions}
    scores = {p: scored(p) for p in found}
    position = max(found, key=lambda p: scores[p])
    score = scores[position]
    # Which other units answer nearly as well is judged against the best one's score without
    # its band's bonus: the rule's case picks the unit, the unit after it may hold the rest
    # ("Please request the credit within 3 months").
    near = score - fit(position) - ALSO_ANSWERS_MARGIN
    bonuses = (QUANTITY_FIT if amounts else 0.0) + max(CODE_FIT if asked_codes else 0.0, LABEL_FIT if labelled else 0.0)
    reach = near - KEYWORD_WEIGHT - ANSWER_TYPE_BONUS - bonuses - 1e-6
    scores.update({p: scored(p) for p in range(len(units)) if p not in found and cosines[p] >= reach})
    # "What ways can I pay?": a lead-in that answers best comes with its list, as much of it as
    # fits in ``LIST_MAX_CHARS`` (one item alone would read as the only way).
    lead_ins = hit.entry.outline.lead_ins
    items = [p for p in range(position + 1, len(units)) if lead_ins[p] == position]
    if units[position].rstrip().endswith(":") and items:
        return _listed(hit, position, items, score)

    # "How much is a checked bag?": where two more items of the best one's list answer nearly as
    # well, the items are alternatives ("15 kg bag: $30 ...", "23 kg bag: $40 ..."), and
    # showing some of them would read as the only ones: the list comes whole, with its lead-in.
    # (Not where the customer's amount picks one, "a 30 kg bag", nor their code, "error P-07",
    # nor where the reply before gave the list: "what about at the airport?" asks for one item.)
    def alternatives(p: int) -> tuple[int, list[int]]:
        """The lead-in of ``p``'s list and its items (none where ``p`` is no list item)."""
        lead = lead_ins[p]
        return lead, [q for q in range(lead + 1, len(units)) if lead >= 0 and lead_ins[q] == lead]

    def whole_list(p: int, siblings: Sequence[int]) -> bool:
        return (
            not fit(p)
            and not all(said(units[q]) for q in siblings)
            and sum(scores.get(q, 0.0) >= near for q in siblings) >= LIST_ALTERNATIVES
        )

    lead, siblings = alternatives(position)
    if whole_list(position, siblings):
        return _listed(hit, lead, siblings, score)
    # The same where the unit that scores best of the whole article is another passage's list
    # item: "will my netflix still go out if I freeze my card?" is answered by "While your card
    # is frozen:" and its cases, declined and not, more than by the passage found.
    top = max(scores, key=lambda p: scores[p])
    if top not in found and scores[top] > score:
        top_lead, top_items = alternatives(top)
        if whole_list(top, top_items):
            return _listed(hit, top_lead, top_items, scores[top])
    chosen = {position}
    # A list item comes with the sentence that introduces its list: "A bike is stuck in a dock"
    # means nothing without "Call our 24-hour line on 555-0199 if:".
    kept = {position, lead}
    if lead >= 0:
        chosen.add(lead)
    if passage.end - passage.start <= MAX_UNITS and len(passage.text) <= WHOLE_PASSAGE_CHARS:
        chosen.update(range(passage.start, passage.end))
    if units[position].rstrip().endswith(":") and position + 1 < len(units):
        chosen.add(position + 1)
    if position + 1 < len(units) and units[position + 1].lower().startswith(_CONTINUES):
        chosen.add(position + 1)
    # "Can I use my own router?": the sentence after the one that says yes or no most often
    # says how, or what it takes ("Set it to use VLAN 10"); it joins from the same passage.
    # (Not the next item of a list: "PayPal" answers "can I pay with PayPal?", the phone line
    # after it only reads as the other way there is.)
    yes_no = is_yes_no_question(question)
    # A follow-up's own message says whether it asks yes or no; joined to the message before,
    # its question mark may end a statement ("... in a snow storm can i claim for that?").
    asks_yes_no = is_yes_no_question(own) if own else yes_no
    if yes_no and passage.start <= position + 1 < passage.end and (lead < 0 or lead_ins[position + 1] != lead):
        chosen.add(position + 1)
    # The sentence before the best one joins from the same passage, and the answer starts there,
    # when the best one opens by pointing back at it ("To do this, send us proof of your new
    # address"), or says no to a way of reaching the company ("cancellations can't be completed
    # through live chat") after the way that works ("To cancel, call our Customer Options team
    # on 555-0123": "can i just cancel through the chat?").
    instead = -1
    if passage.start <= position - 1 and (
        refers_back(units[position])
        or (
            yes_no
            and has_negation(units[position])
            and answer_types.CONTACT.states.search(units[position - 1]) is not None
        )
    ):
        instead = position - 1
        chosen.add(instead)
        kept.add(instead)
    structural = set(chosen)
    # A section states its rule first ("If your child turns 2 before the return flight, they
    # will need their own seat"), its details after: where the best unit is a later sentence of
    # a short passage (not a list item: its lead-in says what it is), the passage's first
    # sentence belongs with it, if it answers within ``OPENING_MARGIN`` of it.
    opening = passage.start
    if not (
        lead < 0
        and opening < position
        and len(passage.text) <= MAX_CHARS
        and lead_ins[opening] < 0
        and scores[opening] >= score - OPENING_MARGIN
    ):
        opening = -1
    others = [p for p in scores if p not in chosen]
    no = None
    leading: set[int] = set()
    if others:
        # The best-scored, and after it those the bot's reply before did not say: a second
        # sentence of the answer before would open a follow-up's answer with what it said.
        # Nor, where the best unit holds the code the customer names ("CI-09"), one about
        # another code ("CI-04: travel document details are missing").
        codes = [c for c in asked_codes if holds_word(units[position], c)]
        near_ones = sorted(
            (p for p in others if scores[p] >= near and not (codes and _another_code(units[p], codes))),
            key=lambda p: -scores[p],
        )
        chosen.update(near_ones[:1] + [p for p in near_ones[1:] if not said(units[p])][: RUNNERS_UP - 1])
        # One from elsewhere in the article that scores above the best stays, however far from
        # it: "Someone aged 18 or over must be at home for the whole appointment" answers "do I
        # need to be there? my 16 year old son will be home" better than the passage found.
        if near_ones and scores[near_ones[0]] > score:
            kept.add(near_ones[0])
        # "Is a 35 kg bag ok if I pay the extra?": where the best unit neither states a band
        # holding the amount the customer names nor names that amount itself ("a 26 kg bag
        # booked as a 23 kg bag costs ..."), a unit that answers nearly as well and whose band
        # holds it ("No single bag can weigh more than 32 kg") speaks of their case: it joins
        # and stays. (A follow-up's case is the one its own words name: "and how many claims
        # can I make?" after the price for a phone worth $1,100 is not about its price band.)
        named = quantities.asked(own) if own else amounts
        if named and not fit(position) and not set(named) & set(quantities.asked(units[position])):
            fitting = next((p for p in near_ones if quantities.fits(named, units[p])), None)
            if fitting is not None:
                chosen.add(fitting)
                kept.add(fitting)
        # "How much do you charge for a banker's reference?": where the best unit says what the
        # thing is and another of the passage found, or one of the article that answers nearly
        # as well, states the kind of value asked for ("It costs £10.00"), that one joins and
        # stays: the answer holds what was asked ("how quick can I get it back?": "We'll refund
        # you straight away, usually within 1 working day", from the guarantee's section). One
        # with a figure first: "an account confirmation letter, which is free" speaks of another
        # thing.
        # "Where do I send it?" asks for a place, and an address is one whatever else is said:
        # the passage's line that gives it joins ("Fernbank Cheques, PO Box 7321, Leeds").
        asked_only = (
            (own and answer_types.asked(own, only=True))
            or answer_types.asked(question, only=True)
            or (_PLACE if kind is _PLACE else None)
        )
        if asked_only is not None and not asked_only.states.search(units[position]):
            # A value from the passage found or that answers nearly as well; an address from
            # any passage found beside it.
            within = found if asked_only is _PLACE else {*range(passage.start, passage.end), *near_ones}
            stating = max(
                (p for p in others if p in within and asked_only.states.search(units[p])),
                key=lambda p: (_FIGURE.search(units[p]) is not None, scores[p]),
                default=None,
            )
            if stating is not None:
                # An address set on its own line comes with the sentence that leads to it
                # ("... send it with your cheque to:").
                if stating and units[stating - 1].rstrip().endswith(":"):
                    leading.add(stating - 1)
                chosen.update({stating, *leading})
                kept.update({stating, *leading})
        # Asked yes or no, the best "no" before the best unit that answers nearly as well and
        # names something the question asks about joins and stays, and the answer starts there
        # (below): a restatement may leave out what comes before where it starts, never what
        # follows it. ("We don't recommend leaving a bike unattended" is no answer to "am I
        # going to be charged the full $1200?")
        if asks_yes_no:
            asked_terms = set(tokenize((split_sentences(own or question) or [question])[-1]))
            no = next(
                (p for p in near_ones if p < position and says_no(units[p]) and asked_terms & set(tokenize(units[p]))),
                None,
            )
        if no is not None:
            chosen.add(no)
            kept.add(no)
    if opening >= 0:
        chosen.add(opening)
        structural.add(opening)

    # Which units stay when there are too many or too long: those kept, then those that belong
    # with the best one (its list's lead-in, the sentence it runs on into, the short passage
    # found, its ``NEIGHBOURS``), the nearest first, then the others that answer nearly as well,
    # the best-scored first: in a long article, a unit two sections away that answers better
    # than one a section away is the one to keep ("The lost-bike fee is $1,200 for a classic
    # bike" for "I left a bike in my garage for 2 days, how much will I be charged?", over the
    # fee for missing parts). Where the best unit is a table's row, the rows among them stand as
    # near as the nearest, the best-scored first: another row is another case wherever it
    # stands ("can I get it quicker?": the express delivery row two down, over the standard
    # one beside it).
    row = bool(table_cells(units[position]))

    def priority(p: int) -> tuple[bool, bool, float, float, int]:
        if p in structural or abs(p - position) <= NEIGHBOURS:
            if row and table_cells(units[p]):
                return (p not in kept, False, 1.0, -scores.get(p, -1.0), p)
            return (p not in kept, False, abs(p - position), 0.0, p)
        return (p not in kept, True, -scores[p], 0.0, p)

    # A sentence that says what the article is about ("This article explains when you can
    # cancel and what it costs") answers nothing, however it came in (a short passage whole, a
    # sentence opening "This ..."): only the one that scores best is kept.
    chosen = {p for p in chosen if p == position or not _ABOUT_ITSELF.match(units[p])}
    ordered = sorted(sorted(chosen, key=priority)[:MAX_UNITS])
    while len(ordered) > len(chosen & kept) and sum(len(units[p]) + 1 for p in ordered) > MAX_CHARS:
        ordered.remove(max((p for p in ordered if p not in kept), key=priority))
    # A lead-in whose list is not there ("With Family Guard you can:") says nothing: it goes,
    # wherever it stands ("... depend on when you add the bag: Each passenger can check in ...").
    ordered = [
        p
        for i, p in enumerate(ordered)
        if p == position
        or p in leading
        or not units[p].rstrip().endswith(":")
        or (i + 1 < len(ordered) and lead_ins[ordered[i + 1]] == p)
    ]
    # A list item that joins and goes on its lead-in's sentence comes with that lead-in, as the
    # best one does: alone, "you tell us about a medical emergency within 2 working days" reads
    # as a rule, not as a case in which "We'll waive the redelivery fee if:". Where the lead-in
    # makes the answer too long, the others that matter least go, those kept excepted: the
    # lead-in is part of its item. (A table's row, or an item that is a sentence, reads alone.)
    for p in [p for p in ordered if lead_ins[p] >= 0 and units[p][:1].islower()]:
        if lead_ins[p] in ordered or p not in ordered:
            continue
        ordered = sorted({*ordered, lead_ins[p]})
        while sum(len(units[q]) + 1 for q in ordered) > MAX_CHARS:
            spare = [q for q in ordered if q not in kept and q not in (p, lead_ins[p], position)]
            if not spare:
                break
            ordered.remove(max(spare, key=priority))
    # Nor does evidence open with a sentence that points back at one left out ("That means
    # keeping it with you ..."), unless that sentence is the one that answers.
    while ordered[0] != position and ordered[0] not in kept and refers_back(units[ordered[0]]):
        ordered.pop(0)
    # One thin sentence goes on into the next of its passage (``THIN_CHARS``), unless that one
    # opens a list, asks, says what the article is about, or either is a table's row: another
    # row reads as another case, not as more about this one.
    last = max(ordered)
    after = last + 1
    if (
        sum(len(units[q]) + 1 for q in ordered) < THIN_CHARS
        and passage.start <= after < passage.end
        and lead_ins[after] < 0
        and not table_cells(units[after])
        and not table_cells(units[last])
        and not units[after].rstrip().endswith((":", "?"))
        and not _ABOUT_ITSELF.match(units[after])
        and scores[after] >= score - THIN_MARGIN
    ):
        ordered.append(after)
    best = ordered.index(position)
    # "How much is the late fee?": an article states its rule ("we add a late fee of $8") before
    # its exceptions ("we don't charge one under $10"). Where an earlier unit that scored nearly
    # as well states the kind of value asked for, the answer starts there.
    if kind is not None:
        best = next(
            (
                i
                for i, p in enumerate(ordered[:best])
                if p in scores and scores[p] >= near and kind.states.search(units[p])
            ),
            best,
        )
    # "Can I claim compensation for that?" after a delay in a snow storm: where an earlier unit
    # that answers nearly as well says no ("We don't pay compensation when ... such as
    # weather"), the answer starts there; a yes or no that leaves the article's "no" out misleads.
    if no is not None and no in ordered:
        best = min(best, ordered.index(no))
    # Where an earlier unit scores as well as the best, within ``TIED``, the scores cannot tell
    # which one answers ("Is there another format you could send my bills in?": the formats,
    # how to ask for one, and that it is kept, score within 0.01): the answer starts there.
    best = next((i for i, p in enumerate(ordered[:best]) if scores.get(p, -1.0) >= score - TIED), best)
    # A list item's answer starts at its list's lead-in: "Call our 24-hour line on 555-0199 if:"
    # holds the number, "A bike is stuck in a dock" only the case.
    if lead >= 0 and lead in ordered:
        best = min(best, ordered.index(lead))
    if instead >= 0 and instead in ordered:
        best = min(best, ordered.index(instead))
    return Evidence(
        hit=hit,
        units=tuple(ordered),
        texts=_as_read(units, lead_ins, ordered),
        score=score,
        best=best,
    )
