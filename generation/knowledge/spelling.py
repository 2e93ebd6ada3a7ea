"""Customers' typos mended against the knowledge base's own words ("memebership" ->
"membership", "recieve" -> "receive", "bil" -> "bill"), and their chat words read as the English
ones ("hw much r u" -> "how much are you"), so keyword evidence, the kind of value asked for and
the embedding see the words the articles use.

Only words that are neither the articles' nor English (the word list of ``pyspellchecker``) are
touched, and only when one of the articles' words is a single edit away (two for words of eight
letters or more): an insertion, a deletion, a substitution or two neighbouring letters swapped;
an articles' word with a letter left out and two letters swapped ("siutcse"), or with two
letters left out ("delivy"); words English hardly uses that are an articles' word with a letter
left out ("pone"); an articles' hyphenated word written as one ("ebike"), with a slip besides
("reproef"). A word neither the articles nor English have, one slip from a common English
word far commoner than any other, becomes that word ("hosptal"), as does one with a letter
typed twice ("geermany"), one whose double letter is doubled in the wrong place ("tarrif" ->
the articles' "tariff") and a short one a letter short of a very common English word ("unil"
-> "until"); a rare English word with a letter left out of a far commoner one of the articles
is that word ("sill" -> "still").
Lookups go through an index of each word's deletions (the idea of SymSpell), so mending a
question costs microseconds, not a scan.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from itertools import pairwise

from generation.knowledge.bm25 import STOPWORDS
from generation.knowledge.chat_words import CHAT_WORDS, contraction_typo
from generation.knowledge.edits import (
    MIN_LENGTH,
    changed,
    changed_or_swapped,
    day_or_month,
    deletions,
    edit_distance,
    inserted,
    one_edit,
    sole,
    stretched_readings,
    swapped,
    two_slips_apart,
    undoubled,
    vowel_for_vowel,
)
from generation.knowledge.synonyms import Synonyms

LONG_WORD = 8
# A word of two or three letters, no more common in English than this, that misses one letter
# of the articles' word ("bil", "kep", "fe"): short words are otherwise left alone.
SHORT_TYPO_ENGLISH = 1000
# A word English uses no more than this (pyspellchecker's counts: "paring" 235, "abut" 330,
# "dose" 10,621) that is an articles' word with one letter left out is read as that word.
RARE_ENGLISH_TYPO = 500
# So is a word English uses more often, where the articles' word is this many times commoner
# ("sill" 545, "still" 2,006,157); and a word one slip from one this many times commoner is that
# word mistyped, not something the customer names ("kayak" 556 has none: ``_misspells_english``).
FAR_COMMONER = 1000
# A word English uses this often, written with a letter typed twice, is a typo of it
# (``Speller._typed_twice``: "germany" 340, "voucher" 799).
TYPED_TWICE_ENGLISH = 100
# A long typo (this many letters, with the one typed twice) reads as any English word, however
# rare, that it writes with a letter typed twice ("torontto" -> "toronto" 50, "pushchhair" ->
# "pushchair" 50): a name so long seldom holds a doubled letter whose single form is English.
TYPED_TWICE_LONG = 8
# A short word (under ``ENGLISH_TYPO_LENGTH`` letters) that is an English word used this often
# with a letter left out is a typo of it (``Speller._short_of_a_letter``: "until" 760,201,
# "money" 665,532; "ticket" 46,606 is not common enough to read "tickt" as it).
SHORT_OF_A_LETTER_ENGLISH = 100_000
# A word English lacks that is one edit from an English word used at least this often is a typo
# of it, not a name ("cheopest": "cheapest" 2,530; "chrismas"): ``Speller._misspells_english``.
TYPO_OF_ENGLISH = 1000
# One edit from a rarer English word (this often or more, and this long), a word English lacks
# names what that word names: "my old pxiel" a pixel, as "my old pixel" does
# (``Speller._rare_english_meant``).
MEANT_RARE_ENGLISH = 100
MEANT_RARE_ENGLISH_LENGTH = 5
# The little words a customer runs into the next or the one before, a space left out
# (``Speller._run_together``: "resetmy", "ontime").
RUN_TOGETHER = frozenset(
    "an the my your our their his her its to of in on at for by with and or is it me we you can do how what"
    " when where why much many not".split()
)
# ... beside a little word or one of this many letters or more ("metor" is no "met or").
RUN_TOGETHER_WORD = 4
# A long word English lacks that is an English word used this often with one slip is a typo of
# it ("prviders": "providers" 358): ``Speller._long_slip``.
LONG_SLIP_ENGLISH = 100
# A word English lacks, this long, two slips from an English word used this often that starts
# with its letter, is a typo of it, not a name ("timorow": "tomorrow" 248,063): only the
# commonest words are near enough to a name for two slips to tell ("klarna" is two from
# "karma", 3,724).
TWO_SLIPS_OF_ENGLISH = 100_000
TWO_SLIPS_OF_ENGLISH_LENGTH = 6
# How much commoner than the next the English word a typo is mended to must be, and how long
# the typo: "venmo" and "zelle" are names, one slip from "venom" and "belle".
ENGLISH_TYPO_MARGIN = 10
ENGLISH_TYPO_LENGTH = 6
# Two words written as one ("autopay") are names of their own when each is used this often in
# English, and a part of three letters far more ("pay" 513,519; not "dis" 1,587 in "discunt").
SHORT_PART = 3
SHORT_PART_ENGLISH = 100_000
# A word of this many letters or more may hold two slips, a letter left out and two letters
# swapped ("siutcse" -> "suitcase", "faliy" -> "family"): ``Speller._two_slips``.
TWO_SLIPS_LENGTH = 5
# A word of this many letters or more may be an articles' word with two letters left out
# ("delivy" -> "delivery"): ``Speller._two_left_out``. Shorter ones read as too many words.
TWO_LEFT_OUT_LENGTH = 6
# Of the articles' words a typo is equally near, one they write next to the typo's neighbour in
# at least this share of the places they use it goes first ("price mutch": "match").
PAIR_SHARE = 0.1
# How many texts ``Speller.correct`` keeps mended: each message is mended several times.
CORRECTED_CACHE = 256
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# A possessive's ending: "plumber's", "customers'".
_POSSESSIVE = re.compile(r"['’]s?$")
# A word in any script ("cuánto", "账单"), for ``Speller.unreadable``; letters past Latin
# Extended-B are another script's.
_ANY_SCRIPT_WORD = re.compile(r"[^\W\d_]+")
_LATIN_END = 0x24F
# A word as ``Speller.correct`` reads it: "b4" and "2day" too. Letters run into digits are a
# code ("N4", "u2", "3g"), not a word: the chat word "n" is not in the night bus "N4".
_CHAT_OR_WORD = re.compile(r"\b(?:b4|2day|2moro)\b|(?<![A-Za-z0-9'’])[A-Za-z][A-Za-z'’]*+(?![0-9])", re.IGNORECASE)
# What comes before a word that starts a sentence (or a line, a list item, a heading).
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s*[\"'(]?|\n\s*(?:[-*#]+\s*|\d+[.)]\s*)?)\s*$")
# A name of two to four capitalised words ("Direct Debit", "Warm Home Discount"), which
# customers shorten to its initials ("my dd bounced", ``Speller.correct_word``).
_NAME_RUN = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?: [A-Z][a-z]+)+\b(?![-'’])")
NAME_WORDS = (2, 4)
# The articles must use the name this often, and twice as often as another name with the same
# initials, for its initials to stand for it: "Pension Credit", named twice, leaves "pc" a PC.
INITIALISM_MENTIONS = 3


# A word of the question that the articles never use and English rarely does ("kayaks",
# "bitcoin") names what the help centre has nothing about. Counts are pyspellchecker's.
RARE_IN_ENGLISH = 3000
FORM_BEGINNING = 5
_HYPHENATED = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")
_NOT_A_THING = ("able", "ible", "ly", "ful", "ous", "ive", "ed", "ing")
# A word the customer does, or asks to have done, is no thing the articles lack: "who can I
# escalate this to?", "can we downgrade our plan", "I want to unsubscribe" ask how to do what
# the articles may say in other words ("make a complaint", "change your plan").
_DOER = re.compile(
    r"\b(?:i|we|you|u|they)\s+(?:(?:can|could|will|would|should|must|may|might|need to|want to|have to"
    r"|'d like to|'ll|to)\s+)?$",
    re.IGNORECASE,
)
_DONE_TO = re.compile(r"^\s+(?:this|it|that|them|me|my|our|your|the|a|an|his|her|him|us)\b", re.IGNORECASE)
_TO = re.compile(r"\bto\s+$", re.IGNORECASE)


# A word after "very", "quite" or "a bit" (or "so", "really" after "is") says how something is,
# and is no thing the articles lack: "my husband is very fussy", "the sofa is so comfy", "it
# feels a bit pricey".
_DEGREE = re.compile(
    r"\b(?:very|quite|extremely|incredibly|rather|too|a bit|a little|kinda|(?:is|are|was|were|am|'s|'re|'m)"
    r"\s+(?:so|really))\s+$",
    re.IGNORECASE,
)
# And a word that ends a clause after "it's", "they are not", "it feels" says how the thing
# spoken of is ("can i return my mattress if it's not comfy?"); after "the sofa is", a word
# ending in "y" does ("the sofa is lumpy", "the bed is saggy"), where another may be a thing
# ("my payment method is bitcoin").
_ADVERBS = r"(?:\s+(?:not|really|so|too|still|just|always|never))*\s+$"
_COPULA = (
    r"(?:['’]s|['’]re|\s+(?:is|are|was|were|be|been|isn['’]?t|aren['’]?t|wasn['’]?t|weren['’]?t|feels?|felt|looks?"
    rf"|looked|seems?|seemed|gets?|got|getting)){_ADVERBS}"
)
_IT_IS = re.compile(
    rf"\b(?:(?:it|they|that|this|these|those|he|she){_COPULA}|(?:its|theyre|thats){_ADVERBS}"
    rf"|(?:is|are|was|were|will|would)\s+(?:it|they|that|this|these|those)(?:\s+be)?{_ADVERBS})",
    re.IGNORECASE,
)
_SOMETHING_IS = re.compile(rf"\b(?!(?:what|who|where|which|there|here|how|why|when)\b)[a-z]+{_COPULA}", re.IGNORECASE)


# So does a word that ends a clause after "I'm" or "my brother is": "i'm celiac, can i get a
# gluten free meal", "my brother is paraplegic" tell how the customer (or one of theirs) is. After
# another "is", a thing may stand: "the problem is rust".
_KIN = (
    r"(?:husband|wife|partner|son|daughter|child|kid|baby|brother|sister|mum|mom|mother|dad|father|parent"
    r"|nan|gran|grandma|grandpa|grandad|grandmother|grandfather|grandson|granddaughter|friend|boyfriend|girlfriend)"
)
_SOMEONE_IS = re.compile(
    rf"\b(?:i['’]?m|i am|(?:he|she)(?:['’]s| is)|(?:my|our|his|her)\s+{_KIN}\s+is)\s+$",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"^\s*(?:[,.!?;:]|$|(?:and|but|so)\b)", re.IGNORECASE)


def _a_quality(text: str, match: re.Match[str]) -> bool:
    """Whether the word ``match`` of ``text`` says how something is (``_DEGREE``, ``_IT_IS``,
    ``_SOMETHING_IS``), or how someone is (``_SOMEONE_IS``)."""
    before, after = text[: match.start()], text[match.end() :]
    if _DEGREE.search(before):
        return True
    if not _CLAUSE_END.match(after):
        return False
    return bool(
        _SOMEONE_IS.search(before)
        or _IT_IS.search(before)
        or (match.group().lower().endswith("y") and _SOMETHING_IS.search(before))
    )


def _a_verb(text: str, match: re.Match[str]) -> bool:
    """Whether the word ``match`` of ``text`` is a verb: what a person does ("can I escalate"),
    or what is done to something after "to" ("to unsubscribe my email")."""
    before, after = text[: match.start()], text[match.end() :]
    return bool(_DOER.search(before)) or (bool(_TO.search(before)) and bool(_DONE_TO.match(after)))


_english: dict[str, int] | None = None
# pyspellchecker's list is American English: "neighbour", "centre", "cheque", "realise" are not
# in it. A British spelling counts as English where one of these rewrites gives a word it has.
_BRITISH = (
    (re.compile(r"our"), "or"),  # colour, neighbour, favourite, behaviour
    (re.compile(r"ould$"), "old"),  # mould
    (re.compile(r"tre(s?)$"), r"ter\1"),  # centre, metres
    (re.compile(r"is(e|es|ed|ing|ation|ations)$"), r"iz\1"),  # realise, organisation
    (re.compile(r"ys(e|es|ed|ing)$"), r"yz\1"),  # analyse
    (re.compile(r"(?<=[a-z])(?:ae|oe)(?=[a-z]{2})"), "e"),  # paediatric, manoeuvre; not "shoe", "does"
    (re.compile(r"ll(ed|ing|er|ers)$"), r"l\1"),  # cancelled, travelling
    (re.compile(r"ellery$"), "elry"),  # jewellery
    (re.compile(r"que$"), "ck"),  # cheque
    (re.compile(r"ogue(s?)$"), r"og\1"),  # catalogue
    (re.compile(r"mme(s?)$"), r"m\1"),  # programme
    (re.compile(r"ence$"), "ense"),  # licence, defence
    (re.compile(r"yre(s?)$"), r"ire\1"),  # tyre
    (re.compile(r"^kerb"), "curb"),
    (re.compile(r"^pyj"), "paj"),  # pyjamas
)
# Whether any of them may apply: typo readings are counted by the hundred (``_english_typo``).
_BRITISH_ANY = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in _BRITISH))
# Words customers write around a question and never about what it asks: greetings, the people
# in their lives, urgency, the day ("Good afternoon", "my fiance", "asap", "on Thursday"). Some
# are rare or missing in pyspellchecker's counts ("afternoon": 50, "thursday": 673); none names
# something a help centre would cover.
CONVERSATIONAL = frozenset(
    "afternoon hiya thankyou hubby wifey kiddo kiddos fiance fiancee fiancé fiancée flatmate flatmates "
    "roommate coworker coworkers colleague asap urgently yep yup nope okey "
    "monday tuesday wednesday thursday friday saturday sunday january february april june july august "
    "september october november december easter xmas".split()
)


def english_words() -> dict[str, int]:
    """The English word list that ``pyspellchecker`` ships, with how often each word occurs
    in its corpus (160,000 words, loaded once)."""
    global _english
    if _english is None:
        from spellchecker import SpellChecker  # noqa: PLC0415 - 0.1 s of loading, only where a speller is built

        _english = dict(SpellChecker(language="en", distance=1).word_frequency.dictionary)
    return _english


class Speller:
    def __init__(self, texts: Iterable[str], *, english: Mapping[str, int] | None = None) -> None:
        self.english = english if english is not None else english_words()
        # The commonest English words, by first letter, for typos of them with two slips.
        self._commonest: dict[str, list[str]] = {}
        for word, count in self.english.items():
            if count >= TWO_SLIPS_OF_ENGLISH and len(word) >= TWO_SLIPS_OF_ENGLISH_LENGTH - 2 and word.isalpha():
                self._commonest.setdefault(word[0], []).append(word)
        self.counts: Counter[str] = Counter()
        # Two words the articles write one after the other ("price match"): among words a typo
        # is equally near, the one that goes with its neighbour (``_goes_with``).
        self._pairs: Counter[tuple[str, str]] = Counter()
        # Words the articles write in lower case, and words they capitalise in mid-sentence
        # (names: "PayPal", "Spokes"), for ``ordinary``.
        self._lower: set[str] = set()
        self._named: set[str] = set()
        # "ebike" is the articles' "e-bike" written as one word, as customers write it (see
        # ``correct_word``); "reproof" another form of their "re-proof" (``_another_form``).
        self._hyphenated: dict[str, str] = {}
        texts_seen: list[str] = []
        for text in texts:
            texts_seen.append(text)
            for match in _HYPHENATED.finditer(text):
                written = match.group(0).lower()
                self._hyphenated.setdefault(written.replace("-", ""), written)
            words = [w.lower() for w in _WORD.findall(text)]
            self.counts.update(words)
            self._pairs.update(pairwise(words))
            # "a plumber's report" names a plumber: the word without its "'s" is theirs too.
            self.counts.update(_POSSESSIVE.sub("", w) for w in words if _POSSESSIVE.search(w))
            for match in _WORD.finditer(text):
                word = match.group(0)
                if word.islower():
                    self._lower.add(word)
                elif not _SENTENCE_START.search(text[: match.start()]):
                    self._named.add(word.lower())
        self._correct_cached: Callable[[str], str] = lru_cache(maxsize=CORRECTED_CACHE)(self._correct)
        self.initialisms = self._initialisms(texts_seen)
        self.synonyms = Synonyms(texts_seen)
        # Other forms of the articles' words: "verifies" of "verified" (a shared beginning of
        # five letters or more, all but the last three).
        self._beginnings = {w[:n] for w in self.counts for n in range(FORM_BEGINNING, len(w) + 1)}
        self._by_deletion: dict[str, list[str]] = {}
        # The articles' hyphenated words are looked up written as one too: "reproef" is a typo of
        # "reproof", which is their "re-proof" (``_as_written``).
        for word in [*self.counts, *(w for w in self._hyphenated if w not in self.counts)]:
            if len(word) < MIN_LENGTH - 1:
                continue
            for key in deletions(word, 2 if len(word) >= LONG_WORD - 1 else 1):
                self._by_deletion.setdefault(key, []).append(word)

    def _initialisms(self, texts: Iterable[str]) -> dict[str, str]:
        """The initials of the names the articles use (``_NAME_RUN``; a sentence's first word
        only marks its start) that customers may write for them ("dd": "Direct Debit"): named
        ``INITIALISM_MENTIONS`` times at least and twice as often as any other name with the
        same initials, and neither a word of the articles nor one of English or chat ("id",
        "ok", "ur")."""
        names: dict[str, Counter[str]] = {}
        for text in texts:
            for match in _NAME_RUN.finditer(text):
                words = match.group(0).split()
                if _SENTENCE_START.search(text[: match.start()]):
                    words = words[1:]
                if NAME_WORDS[0] <= len(words) <= NAME_WORDS[1]:
                    names.setdefault("".join(w[0] for w in words).lower(), Counter())[" ".join(words)] += 1
        found: dict[str, str] = {}
        for initials, counted in names.items():
            (name, count), *others = counted.most_common(2)
            if (
                count >= INITIALISM_MENTIONS
                and not (others and others[0][1] * 2 > count)
                and initials not in self.counts
                and initials not in CHAT_WORDS
                and not self.english.get(initials)
            ):
                found[initials] = name
        return found

    def english_count(self, lower: str) -> int:
        """How often English uses ``lower`` (pyspellchecker's count), a British spelling counted
        as its American form ("colour" as "color"); 0 for a word English lacks."""
        count = self.english.get(lower, 0)
        if not _BRITISH_ANY.search(lower):
            return count
        for pattern, american in _BRITISH:
            rewritten = pattern.sub(american, lower)
            if rewritten != lower:
                count = max(count, self.english.get(rewritten, 0))
        return count

    def known(self, word: str) -> bool:
        return word.lower() in self.counts

    def ordinary(self, word: str) -> bool:
        """Whether ``word``'s capital only marks a sentence's start: the articles write it in
        lower case and never capitalise it in mid-sentence."""
        lower = word.lower()
        return word[1:] == word[1:].lower() and lower in self._lower and lower not in self._named

    def correct_word(self, word: str, before: str = "", after: str = "") -> str | None:
        """The articles' word ``word`` most likely misspells, or ``None``; a typo of a word the
        articles say otherwise as their word ("pushchhair" -> "stroller"). ``before`` and
        ``after`` are the words around it, where known: of the articles' words a typo is equally
        near, one they write next to those goes first ("price mutch" -> "price match", not
        "much")."""
        mended = self._mended(word, before.lower(), after.lower())
        if mended is None or not mended.isalpha():
            return mended
        if mended not in self.counts:
            # The English word a typo writes may be the articles' word mistyped in turn: "ceque" is
            # "cheque", which a help centre writing "cheques" reads as theirs.
            mended = self._mended(mended) or mended
        return self.synonyms.word(mended.lower()) or mended

    def _mended(self, word: str, before: str = "", after: str = "") -> str | None:
        lower = word.lower()
        # A single letter the articles hold is an abbreviation's ("the U.S."), not a word of theirs.
        if lower in self.counts and len(lower) > 1:
            return None
        if lower in CHAT_WORDS:
            return CHAT_WORDS[lower]
        if lower in self.initialisms:
            return self.initialisms[lower]
        synonym = self.synonyms.word(lower)
        if synonym is not None:
            return synonym
        if lower in self._hyphenated:
            # "ebike", "wifi", "checkin": the articles' "e-bike", "Wi-Fi", "check-in", which
            # keyword evidence reads as two words and the embedding as another thing than "bike".
            return self._hyphenated[lower]
        if lower.endswith("s") and lower[:-1] in self._hyphenated:
            return self._hyphenated[lower[:-1]] + "s"
        stretched = self._unstretched(lower)
        if stretched is not None:
            return stretched
        if len(lower) < MIN_LENGTH:
            return self._doubled_letter(lower)
        if not lower.isalpha():
            return None
        if lower in self.english:
            return self._as_written(
                self._letter_left_out(lower) or self._theirs_typed_twice(lower)
            ) or self._short_of_a_far_commoner(lower)
        day = day_or_month(lower)
        if day is not None:
            return day
        limit = 2 if len(lower) >= LONG_WORD else 1
        candidates = self._theirs_within(lower, limit)
        # Nearest first; among equally near words, one with the typo's first letter (a slip
        # seldom starts a word: "emal" -> "email", not "meal"), then one the articles write
        # next to the typo's neighbour ("price mutch" -> "match", not "much"), then one with the
        # typo's own letters (two of them swapped: "contarct" -> "contract", not "contact"), then
        # one the typo leaves a letter out of, the commonest slip ("aead" -> "ahead", not "head";
        # "goig" -> "going", not "gig"), then the articles' commoner word.
        best: tuple[int, bool, bool, bool, bool, int, str] | None = None
        letters = sorted(lower)
        for candidate in candidates:
            distance = edit_distance(lower, candidate)
            left_out = len(candidate) > len(lower)
            rank = (
                distance,
                candidate[0] != lower[0],
                not self._goes_with(candidate, before, after),
                sorted(candidate) != letters,
                not left_out,
                -self.counts[candidate],
                candidate,
            )
            if distance <= limit and (best is None or rank < best):
                best = rank
        if best and best[0] == 1:
            _, elsewhere, _, other_letters, not_left_out, _, theirs = best
            # A letter left out is the commonest slip: where the articles' word is another slip
            # away ("maried" is "marked" with a letter changed), a common English word the typo
            # leaves a letter out of is the one meant ("married"); not where the articles' word
            # holds the typo's letters, two swapped ("metor" is "metro", not "meteor").
            meant = None
            if not_left_out and other_letters:
                meant = self._left_out_of_english(lower, theirs, elsewhere=elsewhere)
            return self._as_written(meant or theirs)
        contraction = contraction_typo(lower)
        if contraction is not None:
            return contraction
        # One slip beats two: "deliivers" is "delivers", not the articles' "delivery".
        doubled = self._typed_twice(lower)
        if doubled is not None:
            return doubled
        # One slip of an English word beats two of the articles' word too: "delevers" is
        # "delivers", not "delivery".
        english = (
            self._english_typo(lower)
            or self._swapped_english(lower)  # "intsaller": "installer"
            or self._changed_english(lower)  # "weuks": "weeks"
        )
        if best:
            return self._as_written(english or best[-1])
        return (
            self._as_written(self._two_slips(lower))
            or self._as_written(self._two_left_out(lower))
            or self._double_moved(lower)
            or english
            or self._typed_once(lower)
            or self._long_slip(lower)
            or self._short_of_a_letter(lower)
            or self._typed_twice_and_one_slip(lower)
            or self._run_together(lower)
        )

    def _run_together(self, lower: str) -> str | None:
        """``lower``, a word neither English nor the articles', as the two words it runs
        together, a space left out: a little word (``RUN_TOGETHER``) and another, or a word of
        ``RUN_TOGETHER_WORD`` letters or more that the articles use or English uses
        ``RARE_IN_ENGLISH`` times or more ("resetmy" -> "reset my", "forthe" -> "for the"),
        where only one split makes them. Two words of substance run together are a name
        ("autopay"); a short word and a little one make too many typos ("metor" is no "met or"),
        and a single letter is no little word here ("acunt" is no "a" before a word)."""
        readings = set()
        for i in range(1, len(lower)):
            first, second = lower[:i], lower[i:]
            for little, other in ((first, second), (second, first)):
                if little in RUN_TOGETHER and (
                    other in RUN_TOGETHER
                    or (
                        len(other) >= RUN_TOGETHER_WORD
                        and (other in self.counts or self.english_count(other) >= RARE_IN_ENGLISH)
                    )
                ):
                    readings.add(f"{first} {second}")
        return sole(readings)

    def _goes_with(self, word: str, before: str, after: str) -> bool:
        """Whether the articles write ``word`` after ``before`` or before ``after`` in at least
        ``PAIR_SHARE`` of the places they use it ("price match"). A stopword beside it says
        nothing: "to" follows "change" and "charge" alike, "the" comes before any noun."""
        pairs = ((before, word), (word, after))
        together = sum(self._pairs[pair] for pair in pairs if STOPWORDS.isdisjoint(pair))
        return together > 0 and together >= PAIR_SHARE * self.counts[word]

    def _unstretched(self, lower: str) -> str | None:
        """The word that ``lower``, a word English lacks, stretches with a letter held down
        ("sooo" -> "so", "tooo" -> "too", "yesss" -> "yes", "pleeease" -> "please"): each run of
        three or more of one letter typed twice, else once, where that makes a chat word, a word
        of the articles or an English one used ``RARE_IN_ENGLISH`` times or more. ``None`` when
        none does."""
        if lower in self.english:
            return None
        for reading in stretched_readings(lower):
            if reading in CHAT_WORDS:
                return CHAT_WORDS[reading]
            if len(reading) > 1 and (reading in self.counts or self.english_count(reading) >= RARE_IN_ENGLISH):
                return reading
        return None

    def _double_moved(self, lower: str) -> str | None:
        """The articles' word that ``lower`` writes with its doubled letter doubled in the wrong
        place ("tarrif" -> "tariff", "ocassion" -> "occasion"): one letter of a pair dropped and
        another letter of the word typed twice makes it. ``None`` when no word, or more than one,
        fits."""
        found: set[str] = set()
        for i in range(1, len(lower)):
            if lower[i] != lower[i - 1]:
                continue
            single = lower[:i] + lower[i + 1 :]
            for j, letter in enumerate(single):
                word = single[: j + 1] + letter + single[j + 1 :]
                if word != lower and word in self.counts:
                    found.add(word)
        return sole(found)

    def _as_written(self, word: str | None) -> str | None:
        """``word`` as the articles write it: "reproof" is their "re-proof"."""
        return word if word is None or word in self.counts else self._hyphenated.get(word, word)

    def _typed_twice(self, lower: str) -> str | None:
        """The English word that ``lower``, a word English lacks, writes with one letter typed
        twice ("geermany" -> "germany", "vouucher" -> "voucher"), where one such word is used at
        least ``TYPED_TWICE_ENGLISH`` times and ``ENGLISH_TYPO_MARGIN`` times more than any word
        another slip makes of it ("planne": "plane" or "planned"): the commonest slip of all,
        and names seldom hold a doubled letter whose single form is an English word."""
        if len(lower) < MIN_LENGTH + 1:
            return None
        least = 1 if len(lower) >= TYPED_TWICE_LONG else TYPED_TWICE_ENGLISH
        found = {w for w in undoubled(lower) if self.english_count(w) >= least}
        return self._alone(lower, found, self.english_count)

    def _typed_twice_and_one_slip(self, lower: str) -> str | None:
        """The word that ``lower`` writes with a letter typed twice and one slip more, the
        commonest slip and another ("swttich" -> "switch", "freindds" -> "friends"): the
        reading of ``lower`` without the doubled letter, two edits from ``lower`` at most."""
        if len(lower) <= MIN_LENGTH:
            return None
        for i in range(1, len(lower)):
            if lower[i] != lower[i - 1]:
                continue
            word = self._mended(lower[:i] + lower[i + 1 :])
            if word is not None and word.isalpha() and edit_distance(lower, word.lower()) <= 2:
                return word
        return None

    def _english_typo(self, lower: str) -> str | None:
        """The English word that ``lower``, a word neither English nor the articles', writes
        with one slip, where one word used ``TYPO_OF_ENGLISH`` times or more stands out
        (``ENGLISH_TYPO_MARGIN`` times commoner than the next): "hosptal" -> "hospital",
        "ceapest" -> "cheapest"; the embedding reads the word, not its broken pieces. Not
        "planne" (both "plane" and "planned" are common), nor two words as one ("autopay").
        Names are words English lacks too ("venmo", "zelle", "iphone", "revolut"): the word
        has ``ENGLISH_TYPO_LENGTH`` letters or more, its first letter stays, and a letter too
        many is only one typed twice ("traiin")."""
        if len(lower) < ENGLISH_TYPO_LENGTH or self.english_count(lower) or self._compound(lower):
            return None
        edits = undoubled(lower)  # "traiin"
        edits |= inserted(lower, 1)  # "hosptal" -> "hospital"
        edits |= {w for w in changed_or_swapped(lower) if w[0] == lower[0]}  # "lougne" -> "lounge"
        # A British spelling counts as its American form ("neigbour" is "neighbour", as "neigbor"
        # is "neighbor"); the readings that count as the same word ("spend", and "spaend" as
        # "paediatric" is "pediatric") are one reading, the word English itself has.
        counts = {e: count for e in edits if (count := self.english_count(e))}
        ranked = sorted(set(counts.values()), reverse=True)
        if not ranked or ranked[0] < TYPO_OF_ENGLISH:
            return None
        if len(ranked) > 1 and ranked[0] < ENGLISH_TYPO_MARGIN * ranked[1]:
            return None
        readings = sorted(e for e, count in counts.items() if count == ranked[0])
        return next((e for e in readings if e in self.english), readings[0] if len(readings) == 1 else None)

    def _swapped_english(self, lower: str) -> str | None:
        """The English word, however rare, that ``lower``, a word neither English nor the
        articles', writes with two neighbouring letters swapped, where it is the only one:
        "germnay" -> "germany", "tuesdya" -> "tuesday", "netlfix" -> "netflix". Names are seldom
        an English word with two letters swapped; shorter ones than ``ENGLISH_TYPO_LENGTH`` may
        be ("venmo": "venom"), and are read as a very common word only."""
        if len(lower) < ENGLISH_TYPO_LENGTH - 1 or self.english_count(lower):
            return None
        # A short one reads as a very common word only ("worng" -> "wrong"; "venmo" stays).
        least = 1 if len(lower) >= ENGLISH_TYPO_LENGTH else SHORT_OF_A_LETTER_ENGLISH
        found = {w for w in swapped(lower) if self.english_count(w) >= least}
        return sole(found)

    def _changed_english(self, lower: str) -> str | None:
        """The very common English word that ``lower``, a short word neither English nor the
        articles' (longer than ``MIN_LENGTH`` and shorter than ``ENGLISH_TYPO_LENGTH``, which
        ``_english_typo`` reads), writes with one letter changed, its first kept ("weuks" ->
        "weeks"): one such word used ``SHORT_OF_A_LETTER_ENGLISH`` times or more,
        ``ENGLISH_TYPO_MARGIN`` times commoner than any other word a slip makes of it ("spund":
        "spend" or "sound"). Names of five letters are seldom a letter away from so common a
        word ("venmo", "zelle", "sonos"); of four, they often are ("etsy": "easy", "lyft":
        "left")."""
        if not MIN_LENGTH < len(lower) < ENGLISH_TYPO_LENGTH or self.english_count(lower):
            return None
        found = {w for w in changed(lower, 1) if self.english_count(w) >= SHORT_OF_A_LETTER_ENGLISH}
        return self._alone(lower, found, self.english_count)

    def _typed_once(self, lower: str) -> str | None:
        """The English word, however rare, that ``lower``, a word neither English nor the
        articles', writes with a doubled letter typed once ("anually" -> "annually", "ocasional"
        -> "occasional"), where it is the only one; ``lower`` has ``ENGLISH_TYPO_LENGTH``
        letters or more, as names seldom are an English word short of a doubled letter."""
        if len(lower) < ENGLISH_TYPO_LENGTH or self.english_count(lower):
            return None
        found = {w for i in range(len(lower)) if self.english_count(w := lower[: i + 1] + lower[i:])}
        return sole(found)

    def _long_slip(self, lower: str) -> str | None:
        """The English word used ``LONG_SLIP_ENGLISH`` times or more that ``lower``, a long word
        (``LONG_WORD`` letters or more) neither English nor the articles', writes with one slip
        after its first letter ("prviders" -> "providers" 358, "spreadsheut" -> "spreadsheet"
        373, which ``_english_typo`` finds too rare to read a typo as): the only such word,
        ``ENGLISH_TYPO_MARGIN`` times commoner than any other a slip after the first letter
        makes of it ("broiders" 50 does not count against "providers"). A name so long is
        seldom one slip from an English word."""
        if len(lower) < LONG_WORD or self.english_count(lower):
            return None
        readings = {w for w in one_edit(lower) if w[:1] == lower[:1]}
        found = {w for w in readings if self.english_count(w) >= LONG_SLIP_ENGLISH}
        return self._alone(lower, found, self.english_count, readings)

    def _short_of_a_letter(self, lower: str) -> str | None:
        """The very common English word that ``lower``, a short word neither English nor the
        articles', writes with one letter left out ("unil" -> "until", "mney" -> "money", "woud"
        -> "would"; "ceque" -> "cheque", a British word counting as its American form): one
        such word used ``SHORT_OF_A_LETTER_ENGLISH`` times or more, its first letter kept,
        ``ENGLISH_TYPO_MARGIN`` times commoner than any other word a slip makes of it ("whre":
        "where" or "whore"). Shorter than ``ENGLISH_TYPO_LENGTH`` (``_english_typo``
        reads longer ones); names this short are seldom a letter short of so common a word
        ("etsy", "lyft", "hulu")."""
        if len(lower) >= ENGLISH_TYPO_LENGTH:
            return None
        found = {w for w in inserted(lower, 1) if self.english_count(w) >= SHORT_OF_A_LETTER_ENGLISH}
        return self._alone(lower, found, self.english_count)

    def _alone(
        self, lower: str, found: set[str], count: Callable[[str], int], readings: set[str] | None = None
    ) -> str | None:
        """The one word of ``found`` (readings of the typo ``lower``), where it is the only one
        and ``ENGLISH_TYPO_MARGIN`` times commoner (by ``count``) than any other word one slip
        from ``lower`` (of ``readings``, where given); else ``None``."""
        if len(found) != 1:
            return None
        word = next(iter(found))
        others = max((self.english.get(w, 0) for w in (readings or one_edit(lower)) if w != word), default=0)
        return word if count(word) >= ENGLISH_TYPO_MARGIN * others else None

    def _compound(self, lower: str) -> bool:
        """Whether ``lower`` is two common English words written as one ("autopay", "carsharing"):
        a name of its own, not a typo of a third word ("autopsy"). A part of ``SHORT_PART``
        letters counts only when far commoner (``SHORT_PART_ENGLISH``): "discunt" is "discount"."""

        def used(part: str) -> bool:
            return self.english.get(part, 0) >= (SHORT_PART_ENGLISH if len(part) <= SHORT_PART else TYPO_OF_ENGLISH)

        return any(used(lower[:i]) and used(lower[i:]) for i in range(SHORT_PART, len(lower) - SHORT_PART + 1))

    def _two_slips(self, lower: str) -> str | None:
        """The articles' word that ``lower`` writes with a letter left out and two neighbouring
        letters swapped, the two slips of typing fast: "siutcse" -> "suitcase", "faliy" ->
        "family". A letter changed besides is left alone: it makes other words as often (so
        "ticet" would be "toilet", "acunt" "amount"). ``None`` when no word, or more than one,
        fits."""
        if len(lower) < TWO_SLIPS_LENGTH:
            return None
        found = self._with_a_letter_left_out(swapped(lower))
        return sole(found)

    def _two_left_out(self, lower: str) -> str | None:
        """The articles' word that ``lower`` writes with two letters left out, its first kept,
        the slip of typing fast and skipping: "delivy" -> "delivery", "cstmer" -> "customer".
        ``None`` when ``lower`` is shorter than ``TWO_LEFT_OUT_LENGTH``, or no word, or more
        than one, fits."""
        if len(lower) < TWO_LEFT_OUT_LENGTH:
            return None
        found = {w for w in self._by_deletion.get(lower, ()) if len(w) == len(lower) + 2 and w[0] == lower[0]}
        return sole(found)

    def _near_miss(self, lower: str) -> bool:
        """Whether ``lower`` is an articles' word with a letter left out and one more slip, a
        letter changed or two swapped ("swach": "switch"): likelier a typo than a name, though
        too unsure to mend."""
        return len(lower) >= TWO_SLIPS_LENGTH and bool(self._with_a_letter_left_out(changed_or_swapped(lower)))

    def one_edit_of_theirs(self, word: str) -> bool:
        """Whether ``word`` is one edit from a word of the articles ("pane": "plane", "gran":
        "grant"): it may be a typo of theirs, though one too common or too unsure to mend."""
        lower = word.lower()
        return any(edit_distance(lower, w) == 1 for w in self._theirs_within(lower, 1))

    def _theirs_within(self, lower: str, limit: int) -> set[str]:
        """The articles' words that share with ``lower`` a form with up to ``limit`` letters
        left out of each: every word ``limit`` edits from it, and some a little further."""
        found: set[str] = set()
        for key in deletions(lower, limit):
            found.update(self._by_deletion.get(key, ()))
        return found

    def _with_a_letter_left_out(self, written: Iterable[str]) -> set[str]:
        """The articles' words that one of ``written`` writes with one letter left out."""
        return {w for text in written for w in self._by_deletion.get(text, ()) if len(w) == len(text) + 1}

    def _letter_left_out(self, lower: str) -> str | None:
        """The articles' word that the rare English ``lower`` is with one letter left out
        ("paring" -> "parking", "pone" -> "phone", "tody" -> "today", "abut" -> "about"): a
        word English hardly uses, written where the articles' word fits, is that word mistyped.
        A word English uses more than ``RARE_ENGLISH_TYPO`` times is only where the articles'
        word is ``FAR_COMMONER`` times commoner ("sill" -> "still"); else ``None``."""
        count = self.english.get(lower, 0)
        found = self._with_a_letter_left_out([lower])
        if count > RARE_ENGLISH_TYPO:
            found = {w for w in found if self.english_count(w) >= FAR_COMMONER * count}
        return max(found, key=lambda w: (self.counts[w], w), default=None)

    def _left_out_of_english(self, lower: str, theirs: str, *, elsewhere: bool = False) -> str | None:
        """The commonest English word that ``lower`` writes with one letter left out (never the
        first), where English uses it ``TYPO_OF_ENGLISH`` times or more and at least as often as
        the articles' word ``theirs``, which ``lower`` is another slip of: "maried" -> "married"
        (not "marked"), "dedline" -> "deadline" (not "decline"), "totaly" -> "totally"; however
        rare beside it where ``theirs`` starts ``elsewhere``, with another letter: "wnter" ->
        "winter" (not "enter"). Not where ``theirs`` has a vowel for a vowel of ``lower``, a slip
        as common: "rading" is the articles' "riding", not "reading"."""
        if vowel_for_vowel(lower, theirs):
            return None
        count, word = max((self.english.get(w, 0), w) for w in inserted(lower, 1))
        floor = TYPO_OF_ENGLISH if elsewhere else max(TYPO_OF_ENGLISH, self.english_count(theirs))
        return word if count >= floor else None

    def _theirs_typed_twice(self, lower: str) -> str | None:
        """The articles' word that the rare English ``lower`` (used ``RARE_ENGLISH_TYPO`` times
        at most) writes with one letter typed twice, where English uses that word
        ``FAR_COMMONER`` times as often: "mooney" (a surname, 101) -> "money" (665,532)."""
        count = self.english.get(lower, 0)
        if count > RARE_ENGLISH_TYPO:
            return None
        least = FAR_COMMONER * max(count, 1)
        found = {w for w in undoubled(lower) if w in self.counts and self.english_count(w) >= least}
        return max(found, key=lambda w: (self.counts[w], w), default=None)

    def _short_of_a_far_commoner(self, lower: str) -> str | None:
        """The English word that the rare English ``lower`` (used ``RARE_ENGLISH_TYPO`` times at
        most) is with one letter left out, its first kept, where that word is ``FAR_COMMONER``
        times commoner and the only one: "yeas" (182) -> "years" (926,829)."""
        count = self.english.get(lower, 0)
        if count > RARE_ENGLISH_TYPO:
            return None
        found = {w for w in inserted(lower, 1) if self.english.get(w, 0) >= FAR_COMMONER * count}
        return sole(found)

    def _doubled_letter(self, lower: str) -> str | None:
        """The articles' word that the short ``lower`` writes with one letter not doubled
        ("bil" -> "bill", "kep" -> "keep", "fe" -> "fee"), unless ``lower`` is common English."""
        if len(lower) < 2 or not lower.isalpha() or self.english.get(lower, 0) > SHORT_TYPO_ENGLISH:
            return None
        found = [lower[: i + 1] + lower[i:] for i in range(len(lower))]
        return max((w for w in found if w in self.counts), key=lambda w: self.counts[w], default=None)

    def correct(self, text: str) -> str:
        """``text`` with each misspelt word, and each word or phrase the articles say otherwise
        (generation/knowledge/synonyms.py), replaced by the articles' word. Answering one
        message reads it mended several times (its search, its follow-up, its case, its topic):
        the last ``CORRECTED_CACHE`` texts are mended once."""
        return self._correct_cached(text)

    def _correct(self, text: str) -> str:
        before = ""

        def mend(match: re.Match[str]) -> str:
            nonlocal before
            after = _WORD.search(text, match.end())
            fixed = self.correct_word(match.group(0), before, after.group(0) if after else "")
            before = fixed if fixed is not None else match.group(0)
            return before

        # The phrases again once typos are mended: "some mnoey back" is "some money back", a refund.
        return self.synonyms.rewrite(_CHAT_OR_WORD.sub(mend, self.synonyms.rewrite(text)))

    def _superlative(self, lower: str) -> bool:
        """Whether ``lower`` is the superlative of a common word ("cheapest", "largest", "biggest")."""
        if not lower.endswith("est"):
            return False
        return any(self.english.get(base, 0) >= RARE_IN_ENGLISH for base in (lower[:-3], lower[:-2], lower[:-4]))

    def _rare_english_meant(self, lower: str) -> str | None:
        """The commonest English word one edit from ``lower``, a word English lacks, where it is
        used at least ``MEANT_RARE_ENGLISH`` times and less than ``TYPO_OF_ENGLISH`` ("pxiel" ->
        "pixel"); ``None`` otherwise. ``unknown_topic`` asks only of a word that is no typo of
        an ordinary word nor of the articles' ("stuve" is "stove", not "stave"; "arivd"
        "arrived", not "arid"): such a word names nothing."""
        if len(lower) < MEANT_RARE_ENGLISH_LENGTH or self.english_count(lower):
            return None
        count, meant = max((self.english_count(edit), edit) for edit in one_edit(lower))
        return meant if MEANT_RARE_ENGLISH <= count < TYPO_OF_ENGLISH else None

    def _misspells_english(self, lower: str) -> bool:
        """Whether ``lower``, a word English does not have, is one edit from a common one
        ("chrismas", "cheopest") or from a chat word ("diidnt"), or two from one of the
        commonest (``TWO_SLIPS_OF_ENGLISH``: "timorow"): a typo of an ordinary word,
        not the name of something. A word English hardly uses one edit from a chat word is a
        typo too ("whits": "whats"); one edit from an English word, it may be a name of its own
        ("germany", "typo"), unless that word is ``FAR_COMMONER`` times commoner ("sill": "still")."""
        count = self.english.get(lower, 0)
        edits = one_edit(lower)
        if count:
            return any(
                (edit in CHAT_WORDS and count <= RARE_ENGLISH_TYPO) or self.english.get(edit, 0) >= FAR_COMMONER * count
                for edit in edits
            )
        if lower[-1] != lower[-2]:
            # A name is often a common word with a letter after it ("alexa"): a slip seldom adds
            # a last letter other than the one before it ("thankss").
            edits.discard(lower[:-1])
        if any(self.english.get(edit, 0) >= TYPO_OF_ENGLISH or edit in CHAT_WORDS for edit in edits):
            return True
        return len(lower) >= TWO_SLIPS_OF_ENGLISH_LENGTH and any(
            two_slips_apart(lower, word) for word in self._commonest.get(lower[0], ())
        )

    def _another_form(self, lower: str) -> bool:
        """Whether ``lower`` is another form of a word of the articles (see ``__init__``)."""
        beginning = lower[:-3]
        return lower in self._hyphenated or (len(beginning) >= FORM_BEGINNING and beginning in self._beginnings)

    def unreadable(self, text: str) -> bool:
        """Whether ``text`` is mostly words neither English nor the articles' (typos mended
        first): another language ("¿Cuánto cuesta el plan?") or keyboard mashing ("asdf jkl").
        Two such words at least, or one in another script: one unknown word alone is a name
        ("Klarna?"), which ``unknown_topic`` speaks of."""
        words = [w.lower() for w in _ANY_SCRIPT_WORD.findall(self.correct(text)) if len(w) >= 2]
        unknown = [w for w in words if not self.english_count(w) and w not in self.counts]
        other_script = any(ord(c) > _LATIN_END for w in unknown for c in w)
        return bool(unknown) and (len(unknown) >= 2 or other_script) and len(unknown) * 2 >= len(words)

    def unknown_topic(self, text: str) -> str | None:
        """A word of ``text`` that names something the articles never mention and that is no
        typo of theirs nor another form of their words ("verifies", "reproof"): four letters or
        more, no verb (``_a_verb``: "can I escalate this") nor a quality (``_a_quality``: "he
        is very fussy"), in no article (nor its singular), rare or absent in English and no typo
        of a common English word nor a near miss of the articles' ("kayaks", "bitcoin"; not
        "chrismas", "swach"), as the customer meant it (a typo as the word it mends to:
        "Geermany" -> "Germany"); ``None`` when there is none."""
        for match in _WORD.finditer(text):
            written = match.group()
            if len(written) < MIN_LENGTH or _a_verb(text, match) or _a_quality(text, match):
                continue
            # A typo is judged as the word it mends to: "geermany" names Germany, "vouucher" a
            # voucher, "chrismas" nothing one could find articles about.
            word = self.correct_word(written) or written
            if written[0].isupper():
                word = word[0].upper() + word[1:]
            lower = word.lower()
            singular = lower[:-1] if lower.endswith("s") else lower
            if len(lower) < MIN_LENGTH or not lower.isalpha() or lower in self.counts or singular in self.counts:
                continue
            if max(self.english_count(lower), self.english_count(singular)) >= RARE_IN_ENGLISH:
                continue  # a common English word, not the name of something the articles lack
            if lower.endswith(_NOT_A_THING) or self._superlative(lower) or lower in CONVERSATIONAL:
                continue  # "accessible", "quickly", "cheapest": not something one could find articles about
            if self._another_form(lower) or self._misspells_english(lower):
                continue
            if self._near_miss(lower):
                continue  # "swach" for "switch": saying nothing was found about "swach" reads as mockery
            # A slip of a rarer English word names what that word names: "pxiel" a pixel.
            meant = self._rare_english_meant(lower)
            if meant is None:
                return word
            return meant[0].upper() + meant[1:] if word[0].isupper() else meant
        return None
