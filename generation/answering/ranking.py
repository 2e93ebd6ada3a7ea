"""Which passage answers first, and whether any is worth answering with.

Retrieval ranks passages by meaning and words (generation/knowledge/index.py); what the customer
gives of their case can say better which one answers: a code they quote that one article holds, a
band of their age, weight or size, a time or an amount of money that falls in a band of the same
article, the thing whose price or time they ask named in full. Such a passage, scoring nearly as
well, goes first. A match below the minimum confidence is still worth a tentative answer where
it clearly leads the other articles, holds the code quoted, states the band given or writes the
few words of a terse question as asked. A follow-up that leans on the answer before ("how much
does it cost?", "and if I have Flex?") keeps to the article that answer came from, when nearly
as well matched; one after a message the bot found nothing for, to the article that message
found first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from generation.answering import evidence as evidence_of
from generation.answering import quantities, questions
from generation.answering.phrases import TENTATIVE_SUFFIX
from generation.knowledge.bm25 import stems, tokenize
from generation.knowledge.index import Entry, PassageHit, confidence

# A match up to this far below the minimum confidence is answered tentatively when its passage
# leads every other article's by at least STANDS_OUT_MARGIN (see ``stands_out``): a base whose
# customers word things far from its articles scores low everywhere, and there the lead over
# the other articles is what tells an answer from a guess (docs/benchmarks.md).
WEAK_MATCH_BELOW_MINIMUM = 0.18
STANDS_OUT_MARGIN = 0.10
# Where this many passages of the best one's article come before any other article's, a match
# in the nearer half of that range stands out at half the margin: "who can I escalate it to?"
# after a complaint finds four passages of the complaints article, the next article's 0.06 behind.
ARTICLE_AHEAD = 3
# The measures a weak match is answered on when its passage states a band of one the customer
# gives (``states_their_band``): an age, a weight or a size says which rule they ask about.
MEASURES = frozenset({"age", "weight", "length"})
# And a passage stating a band of it answers in the best one's place when it scores within this
# of it (``band_first``).
BAND_ELSEWHERE_MARGIN = 0.05
# Within the best one's article, a passage stating a band that holds a time or an amount of
# money the customer gives of their own case ("complained 9 weeks ago": "If your complaint
# hasn't been resolved after 8 weeks"; "my ring is worth £6k": "Jewellery worth more than
# £4,000") answers in its place when it scores within this of it (``case_band_first``).
CASE_MEASURES = frozenset({"time", "money"})
CASE_BAND_MARGIN = 0.12
# ... and a band of it with an upper end, where only an open one of the best passage holds it.
CLOSER_BAND_MARGIN = 0.03
# So does one holding the code the customer quotes, which only its article holds (``code_first``).
CODE_ELSEWHERE_MARGIN = 0.05
# And one naming all of what the customer asks the price or the time of (``valued_first``).
VALUED_ELSEWHERE_MARGIN = 0.05
# A follow-up that leans on the answer before ("how much does it cost?") keeps to the article
# that answer came from, where a passage of it matches within this of the best one
# (``answered_article_first``) ...
ANSWERED_ARTICLE_MARGIN = 0.05
# ... and is answered, tentatively, down to this far below the minimum confidence.
ANSWERED_BELOW_MINIMUM = 0.09
# An answer came from the article that holds this share of its words, and it has this many.
ANSWERED_FROM_SHARE = 0.9
ANSWERED_FROM_WORDS = 5
# A question of at most this many words, stopwords aside (and one more in all), is terse: a
# weak match whose passage writes them as asked is still answered (``names_its_phrase``).
TERSE_WORDS = 3


def stands_out(hits: Sequence[PassageHit], conf: float, minimum: float) -> bool:
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


def quotes_its_code(
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


def measures_given(question: str) -> set[str]:
    """The measures (``MEASURES``) of the amounts ``question`` names: "im 17" gives an age."""
    return {kind for kind, _ in quantities.asked(question)} & MEASURES


def _states_band(hit: PassageHit, kinds: set[str]) -> bool:
    return any(band.kind in kinds for band in quantities.stated(hit.passage.text))


def states_their_band(hits: Sequence[PassageHit], kinds: set[str], conf: float, minimum: float) -> bool:
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


def band_first(hits: list[PassageHit], conf: float, kinds: set[str]) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence; where the customer gives an age, a weight or a size
    (``kinds``) and the best passage states no band of it, the best of the others within
    ``BAND_ELSEWHERE_MARGIN`` that does goes first: "My 16 year old will be home - is that ok?"
    while the installer comes matches moving house best, and the installation passage, nearly
    as well, says "aged 18 or over"."""
    if not kinds or not hits or _states_band(hits[0], kinds):
        return hits, conf
    return _moved_first(hits, conf, BAND_ELSEWHERE_MARGIN, lambda h: _states_band(h, kinds))


def case_band_first(hits: list[PassageHit], conf: float, case: str) -> tuple[list[PassageHit], float]:
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


def code_first(
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


def rank(
    entries: Sequence[Entry], hits: list[PassageHit], conf: float, question: str, *, case: str, minimum: float
) -> tuple[list[PassageHit], float, bool]:
    """``hits`` and their confidence with a passage holding the code the customer quotes
    (``code_first``), or stating a band of their measure (``band_first``) or of a time or
    amount the customer's ``case`` gives (``case_band_first``), or naming the thing whose price
    or time the ``case`` asks (``valued_first``), first, and whether retrieval
    found something to answer ``question`` with: a match at the ``minimum`` confidence, or a
    weaker one that stands out, holds a code the customer quotes, states a band of the age,
    weight or size they give or writes the few words a terse question is."""
    kinds = measures_given(question)
    hits, conf = code_first(entries, hits, conf, question)
    hits, conf = band_first(hits, conf, kinds)
    hits, conf = case_band_first(hits, conf, case)
    hits, conf = valued_first(hits, conf, case)
    worth = bool(hits) and (
        conf >= minimum
        or stands_out(hits, conf, minimum)
        or quotes_its_code(entries, hits, question, conf, minimum)
        or states_their_band(hits, kinds, conf, minimum)
        or names_its_phrase(hits, case, conf, minimum)
    )
    return hits, conf, worth


def _names_all(hit: PassageHit, words: Sequence[str]) -> bool:
    present = set(tokenize(f"{hit.title} {hit.passage.heading} {hit.passage.text}"))
    return all(w in present for w in words)


def valued_first(hits: list[PassageHit], conf: float, case: str) -> tuple[list[PassageHit], float]:
    """``hits`` and their confidence; where ``case`` asks what something costs or how long it
    takes (``questions.valued_words``) and the best passage (with its title and heading) does
    not name all of it, the best of the others within ``VALUED_ELSEWHERE_MARGIN`` that does goes
    first: "how much is delivery for a sofa?" matches the sofa fillings' extra costs best, and
    the delivery charges, which name sofas, nearly as well."""
    words = questions.valued_words(case)
    if not words or not hits or _names_all(hits[0], words):
        return hits, conf
    return _moved_first(hits, conf, VALUED_ELSEWHERE_MARGIN, lambda h: _names_all(h, words))


def names_its_phrase(hits: Sequence[PassageHit], question: str, conf: float, minimum: float) -> bool:
    """A weak match whose passage writes word for word the few words a terse question is
    ("sort code?": "All Fernbank personal accounts use the sort code 04-72-18"): two or three
    words match a sentence little by meaning, and a passage holding them as written is about
    them. (Not a question that asks in more words: "how do I bill a client?" is not answered by
    "Expenses can be billed to a client".)"""
    words = stems(question)
    terse = len(words) <= TERSE_WORDS + 1 and 2 <= len(tokenize(question)) <= TERSE_WORDS
    if conf < minimum - WEAK_MATCH_BELOW_MINIMUM or not terse or not hits:
        return False
    text = stems(f"{hits[0].passage.heading} {hits[0].passage.text}")
    return any(text[i : i + len(words)] == words for i in range(len(text) - len(words) + 1))


def _first_within_margin(
    hits: list[PassageHit], conf: float, minimum: float, takes: Callable[[PassageHit], bool]
) -> tuple[list[PassageHit], float, bool]:
    """``hits`` with the first one ``takes`` put first, where it matches within
    ``ANSWERED_ARTICLE_MARGIN`` of the best, their confidence, and whether there is one at most
    ``ANSWERED_BELOW_MINIMUM`` under the ``minimum``."""
    same = next((h for h in hits if h.score >= hits[0].score - ANSWERED_ARTICLE_MARGIN and takes(h)), None)
    if same is None:
        return hits, conf, False
    if same is not hits[0]:
        hits = [same, *(h for h in hits if h is not same)]
        conf = confidence(hits)
    return hits, conf, conf >= minimum - ANSWERED_BELOW_MINIMUM


def article_first(
    hits: list[PassageHit], conf: float, entry: Entry, minimum: float
) -> tuple[list[PassageHit], float, bool]:
    """``hits`` and their confidence for a follow-up to a message the bot found no answer to,
    and whether a passage of ``entry`` (the article that message found first) is among them,
    within ``ANSWERED_ARTICLE_MARGIN`` of the best and at most ``ANSWERED_BELOW_MINIMUM`` under
    the ``minimum``: that passage goes first and is worth a tentative answer. "can u post it to
    my new address? how much?" after "Your team found the jacket I left on a bike, but I've
    moved out of state." asks about lost property, which the message before found alone."""
    return _first_within_margin(hits, conf, minimum, lambda h: h.entry is entry)


def _any(_: PassageHit) -> bool:
    return True


def answered_article_first(
    hits: list[PassageHit], conf: float, reply: str, minimum: float, accepts: Callable[[PassageHit], bool] = _any
) -> tuple[list[PassageHit], float, bool]:
    """``hits`` and their confidence for a follow-up that leans on the bot's ``reply`` before
    it, and whether a passage of the article that reply came from is among them, within
    ``ANSWERED_ARTICLE_MARGIN`` of the best and at most ``ANSWERED_BELOW_MINIMUM`` under the
    ``minimum``: that passage goes first and is worth a tentative answer. "how much does it
    cost?" after the reduced-fare plan was found for "is there a cheaper plan for people on
    benefits?" matches the Flex plan's price best; "it" is the plan of the answer before.
    Only a passage that ``accepts`` takes goes first."""
    said = set(tokenize(reply.replace(TENTATIVE_SUFFIX.strip(), "")))
    if len(said) < ANSWERED_FROM_WORDS or not hits:
        return hits, conf, False

    verdicts: dict[int, bool] = {}  # by article: several passages of one are often found

    def answered_from(hit: PassageHit) -> bool:
        article = id(hit.entry)
        if article not in verdicts:
            held = said & set(tokenize(" ".join(hit.entry.outline.units)))
            verdicts[article] = len(held) >= ANSWERED_FROM_SHARE * len(said)
        return verdicts[article]

    return _first_within_margin(hits, conf, minimum, lambda h: answered_from(h) and accepts(h))
