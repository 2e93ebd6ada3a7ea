"""What the customer names, read against the passages' own words.

A question may name something no article mentions ("Can I pay with bitcoin?", "do you have a
lounge?"): the passage found must speak of it, in its words or words near in meaning (MiniLM),
or the bot says it found nothing about it and hands over. A place the customer only tells of
("flying to Lisbon") is where they are, not what they ask about. A word English seldom uses
and no article does is read in the passages' context as the word it is one slip from ("per
moth": "month"), and a passage naming only the opposite of the customer's word ("download"
for "upload") answers nothing about it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from generation.answering import answer_types, phrases, questions
from generation.answering.evidence import Evidence
from generation.knowledge.bm25 import STOPWORDS, tokenize
from generation.knowledge.edits import edit_distance, two_slips_apart
from generation.knowledge.index import KnowledgeIndex, PassageHit
from generation.knowledge.passages import table_cells
from generation.knowledge.spelling import RARE_IN_ENGLISH

# A word the customer names that no article mentions is covered by a passage holding a word this
# close to it (``covers_topic``): chosen on the demo and spokes bases, where answers
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
# A thing the customer asks a value of ("how much to assemble a desk?") is of the kind a table
# lists in its first column ("Item: Chest of drawers or bedside table; Price: £30") when its name
# is this close to a word of those cells (MiniLM cosine). Chosen on the furniture base
# (bench/data/birchwood_kb), where "desk" scored 0.52 and "rug" 0.51 to the things its price
# lists name; with no such floor, words that end a clause and name no thing ("get the difference
# back?", "quite a big lad") are taken for one. It misses some: "bench" is 0.34 from "shed".
LISTED_KIN = 0.45
# A thing named in a question: the words after "a", "my", "the"... that end a clause ("an old
# rug when you deliver", "a desk?"); the last one names it. (Words that run on, "the metro today
# is", "this morning like 40 mins", may be anything.)
_NAMED_THING = re.compile(
    r"\b(?:a|an|the|my|our|your|his|her|their|this|that|these|those)(?P<words>(?:\s+[a-z][a-z-]*){1,3})"
    r"(?=\s*[?.!,;:]|\s*$|\s+(?:when|if|and|but|because|so|as|or|please|then|though)\b)",
    re.IGNORECASE,
)


# Words that differ only by an opposing prefix ("upload" and "download", "inbound" and
# "outbound", "overpaid" and "underpaid") are near in meaning to MiniLM and to a reader skimming;
# a passage that names one answers nothing about the other.
_OPPOSED_PREFIXES = (("up", "down"), ("in", "out"), ("over", "under"))
_PLAIN_WORD = re.compile(r"[a-z]+")


def opposite_only(question: str, texts: Sequence[str]) -> str | None:
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
# read against the words of this many passages found (``mended_in_context``).
CONTEXT_HITS = 3
CONTEXT_TYPO_LENGTH = 4
# A word this long, one slip from none of those words, may hold two slips of one of them
# ("radiotr" for "radiators"' singular, "muzezl" for "muzzle").
CONTEXT_TWO_SLIPS_LENGTH = 6
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
    parts = _parts(words, CONTEXT_TYPO_LENGTH)
    return {p for p in parts if abs(len(p) - len(lower)) <= 1 and edit_distance(lower, p) == 1}


def _parts(words: Sequence[str], length: int) -> set[str]:
    """``words`` and a hyphenated one's parts, of ``length`` letters or more."""
    return {p for w in words for p in w.split("-") if len(p) >= length}


def _near_in(lower: str, words: Sequence[str]) -> set[str]:
    """The ones of ``words`` that ``lower`` may mistype: those one edit from it; where there
    are none and both are ``CONTEXT_TWO_SLIPS_LENGTH`` letters or more, those two edits from it
    that begin with its letter (a slip seldom starts a word: "radiotr" for "radiator", "muzezl"
    for "muzzle", "swtcih" for "switch") and are no other form of it, the one with an ending
    the other lacks ("installer" is not "install")."""
    near = _one_edit_from(lower, words)
    if near or len(lower) < CONTEXT_TWO_SLIPS_LENGTH:
        return near
    parts = {p for p in _parts(words, CONTEXT_TWO_SLIPS_LENGTH) if p[0] == lower[0]}
    # A plural's singular too: "raditro" is "radiator" where the passage writes "radiators".
    parts |= {p[:-1] for p in parts if p.endswith("s") and not p.endswith("ss") and len(p) > CONTEXT_TWO_SLIPS_LENGTH}
    return {p for p in parts if two_slips_apart(lower, p)}


def mended_in_context(index: KnowledgeIndex, query: str, hits: Sequence[PassageHit]) -> str:
    """``query`` with each word that English seldom uses and no article does (``RARE_IN_ENGLISH``),
    one edit from one word of the passages found and no other, written as that word: a typo
    that makes another word ("how much per moth" for "month", "the electric miter" for
    "meter", "the pane door" for "plane"; two slips in a long word, ``_near_in``) is read in
    the passages' context. Where none of their words is that near it, the first passage's
    article's are; of two words, the one it writes with a letter left out is meant ("cary":
    "carry", not "care")."""
    speller = index.speller
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
        near = _near_in(lower, words)
        if not near and hits:
            # None there: the first passage's article may use it ("a cary on suitcase": its
            # "carry-on" stands in another section).
            near = _near_in(lower, _article_words(hits[0].title, hits[0].entry.outline.units))
        # Of two, the one the typo leaves a letter out of, the commonest slip ("cary": "carry",
        # not "care").
        left_out = {w for w in near if len(w) == len(lower) + 1}
        if len(near) == 1 or len(left_out) == 1:
            meant[lower] = (left_out if len(left_out) == 1 else near).pop()
    return _CONTEXT_WORD.sub(lambda m: meant.get(m.group(0).lower(), m.group(0)), query)


def covers_topic(index: KnowledgeIndex, topic: str, hit: PassageHit, weak: bool = False) -> bool:
    """Whether ``hit``'s passage speaks of ``topic``, something the question names that no
    article mentions ("Can I pay my bill with bitcoin?", ``unknown_topic``): one of
    the passage's words must mean nearly the same (MiniLM, cosine ``TOPIC_COVERED``:
    "Toronto" is covered by "Canada", "dryer" by "dry"; "bitcoin" is not by "pay"). A
    ``weak`` match (below the minimum confidence, answered only because it stands out) covers
    no such name: a word of the same field is near it there ("airbus" and "aircraft",
    "scooter" and "wheelchairs"), and the passage is about something else. A place is
    covered by a passage that speaks of places abroad (``PLACE_NAME``, ``PLACE_WORD``), and a
    word one slip from one of the passage's article's (or two, ``_near_in``) is a typo of it,
    however weak the match ("esim wont instill": "Install on this phone"; "a cary on
    suitcase": "carry-on bag"; "wear a muzezl": "muzzle")."""
    if _near_in(topic.lower(), _article_words(hit.title, hit.entry.outline.units)):
        return True
    words = _words_of(hit.title, hit.passage.heading, hit.passage.text)
    if weak or not words:
        return False
    # One embedding of the name, for the passage's words and for "city" and "country".
    named, vectors = index.word_vectors(topic.lower(), [*words, *_PLACES])
    vectors, places = vectors[: len(words)], vectors[len(words) :]
    if float((vectors @ named).max()) >= TOPIC_COVERED:
        return True
    country = places[_PLACES.index("country")]
    return _names_a_place(named, places) and float((vectors @ country).max()) >= PLACE_WORD


def unknown_topic(index: KnowledgeIndex, question: str) -> str | None:
    """What ``question`` names that no article mentions (`Speller.unknown_topic`), as the
    part of it that asks sees it: a place the customer only tells of ("i'm back home in ohio
    now", "visiting her dad in phoenix, is that allowed?") says where they are or go, and
    is no topic; what the asking part itself names is ("can I pay with bitcoin?")."""
    speller = index.speller
    topic = speller.unknown_topic(question)
    asking = questions.asking_part(question)
    if topic is None or asking == question:
        return topic
    own = speller.unknown_topic(asking)
    if own is not None:
        return own
    if _went_to(topic, speller.correct(question)):  # "goig to tenerife": going to it
        return None
    named, places = index.word_vectors(topic.lower(), list(_PLACES))
    return None if _names_a_place(named, places) else topic


def speaks_of(index: KnowledgeIndex, thing: str, found: Evidence, company: str) -> bool:
    """Whether the passage ``found`` comes from, or its evidence, speaks of ``thing``, which
    the customer asks whether the company has: each word naming it is there, or one within
    ``THING_COVERED`` of it ("classes" for "class"; not "student" for "basic"). The
    company's own name needs no mention."""
    hit = found.hit
    texts = (hit.title, hit.passage.heading, hit.passage.text, *found.texts)
    present = set(tokenize(" ".join(texts)))
    own_name = set(tokenize(company))
    missing = [w for w in questions.named_words(thing) if not (set(tokenize(w)) <= present | own_name)]
    if not missing:
        return True
    if any(_DISCOUNT.match(w) for w in missing) and not any(_STATES_A_CUT.search(t) for t in texts):
        return False
    words = _words_of(*texts)
    for word in missing:
        if _one_edit_from(word, words):
            continue  # "are the tries and shrubs covered?": the passage's "trees", mistyped
        named, vectors = index.word_vectors(word, words)
        if not words or float((vectors @ named).max()) < THING_COVERED:
            return False
    return True


def _things_named(question: str) -> list[str]:
    """The things ``question`` names (``_NAMED_THING``), each by its last word: "how much to
    take away an old rug when you deliver" -> ["rug"]."""
    things = []
    for match in _NAMED_THING.finditer(question):
        words = match.group("words").lower().split()
        if not any(w in STOPWORDS for w in words) and len(words[-1]) >= 3:
            things.append(words[-1])
    return things


def unlisted(index: KnowledgeIndex, question: str, found: Evidence) -> str | None:
    """A thing ``question`` asks a value of ("how much to assemble a desk?") that the table
    answering it does not list, where that table lists things of its kind in its first column
    (``LISTED_KIN``: "Item: Sideboard or TV unit; Price: £40"): the article never names it, so
    the rows found are other things' values. ``None`` when the evidence is no such table, or
    the question asks no value, or names no such thing."""
    if not found.answering or answer_types.asked(question) is None:
        return None
    first = table_cells(found.answering[0])
    if not first:
        return None
    key = first[0][0]
    entry = found.hit.entry
    listed = [cells[0][1] for cells in map(table_cells, entry.outline.units) if cells and cells[0][0] == key]
    article = set(tokenize(f"{entry.title} {' '.join(entry.outline.units)}"))
    kin = [w for w in _words_of(*listed) if w not in STOPWORDS]
    for thing in _things_named(question):
        if not kin or set(tokenize(thing)) <= article:
            continue
        named, vectors = index.word_vectors(thing, kin)
        if float((vectors @ named).max()) >= LISTED_KIN:
            return thing
    return None


def not_found(index: KnowledgeIndex, question: str) -> str:
    """The honest handoff, naming what the help centre has nothing about when the question
    names it ("I couldn't find anything about kayaks ..."); a word one slip from a word of the
    articles is not named: "nothing about pane" would mock a customer who meant "plane"."""
    topic = unknown_topic(index, question)
    if topic is None or index.speller.one_edit_of_theirs(topic):
        return phrases.HANDOFF_UNKNOWN
    return phrases.not_found_about(topic)
