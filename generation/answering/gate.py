"""Text is verified before a customer sees it.

A model that may paraphrase (a ``GENERATION_MODEL``) writes a reply that grows token by
token; ``SentenceGate`` holds each sentence back until it is complete and ``Verifier`` has
passed it, then forwards it. What was forwarded is never taken back: when a sentence fails,
the gate stops (the reply ends after the last verified sentence, or, when nothing passed, the
caller answers some other way). The offline responder's reply is held to its evidence token by
token instead, and streams as it is written (generation/answering/restate.py).

Two verifiers:
- ``Restating`` (the offline responder, which learns to restate): every sentence is one of
  the evidence's units, word for word (its first letter's case aside), optionally led by
  "Yes,"/"No," — and "Yes" only for a yes/no question whose sentence says no negation, "No"
  only for one whose sentence does (a negation in a condition attached to it does not count).
  The constraint on its decoding allows only such sentences; this check runs on the finished
  reply and on the training dialogues.
- ``Grounded`` (any other model, which may paraphrase): no number, price, time, email, web
  address or name that the support text lacks, mostly the evidence's words, no repetition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from generation.answering import facts
from generation.knowledge.bm25 import STOPWORDS, stem, tokenize
from generation.knowledge.passages import split_sentences
from generation.knowledge.spelling import english_words

Forward = Callable[[str], None]
MAX_SENTENCES = 3

_LEAD = re.compile(r"^(yes|no)\s*[,.!]\s*", re.IGNORECASE)
# A yes/no question's last or next-to-last sentence opens like this (the responder's training
# corpus asks its polar questions so, generation/responder/corpus.py).
YES_NO_QUESTION = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|so|and|but|also|please|sorry|thanks)\b[,!.]?\s*)*"
    r"(?:can|could|do|does|did|is|are|was|were|will|would|should|shall|may|might|must|have|has|had|am)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[,;]\s+|\s+-\s+")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nor|cannot|can't|can’t|don't|don’t|doesn't|doesn’t|isn't|isn’t|aren't|aren’t|"
    r"won't|won’t|wasn't|weren't|shouldn't|couldn't|wouldn't|mustn't|haven't|hasn't|unable|neither)\b",
    re.IGNORECASE,
)


def normalized(text: str) -> str:
    """Lower case, one space, no closing punctuation: how sentences are compared."""
    return " ".join(text.lower().replace("’", "'").split()).rstrip(" .!?;:")


# A condition that opens a question without a comma to end it: "if i cancel a lite ticket do i
# get anything back", up to the auxiliary and the subject of what is asked.
_OPENING_CONDITION = re.compile(
    r"^(?:if|once|after|before)\s+(?:i|we|you|my|our|the|a|an)\b(?:(?!\b(?:how|what|when|where|which|who|why)\b).)*?\s"
    r"(?=(?:can|could|do|does|will|would|is|are|should|may)\s+(?:i|we|you|it|they|he|she|my|our|the)\b)",
    re.IGNORECASE,
)


def is_yes_no_question(question: str) -> bool:
    """Whether ``question``'s last sentence asks yes or no ("Can I ...?", "Do you ...?"), or
    its last clause does ("flying to lisbon next month, can i bring my dog?"), or what follows
    the condition it opens with ("if i cancel a lite ticket do i get anything back?")."""
    sentences = split_sentences(question) or [question]
    return any(
        YES_NO_QUESTION.match(part.strip())
        for s in sentences[-2:]
        for part in (s, _CLAUSE.split(s)[-1], _OPENING_CONDITION.sub("", s.strip(), count=1))
    )


def has_negation(text: str) -> bool:
    return bool(_NEGATION.search(text))


# A condition attached to what a sentence says: "Larks expire if your account has no activity"
# says yes, they expire; the "no" is the condition's. ("only if" and "even if" stay: "refunded
# only if you haven't unlocked a bike" restricts the answer, and is read as it stands.)
_LEADING_CONDITION = re.compile(r"^(?:if|when|whenever|once|unless|as long as)\b[^,]*,\s*", re.IGNORECASE)
_TRAILING_CONDITION = re.compile(r"(?<!only)(?<!even)\s+(?:if|when|whenever|unless|as long as)\b.*$", re.IGNORECASE)


def says_no(sentence: str) -> bool:
    """Whether ``sentence`` answers no: a negation in what it says, not in a condition attached
    to it ("If you cancel, we don't refund" says no; "Larks expire if your account has no
    activity for 18 months" does not)."""
    main = _TRAILING_CONDITION.sub("", _LEADING_CONDITION.sub("", sentence.strip(), count=1), count=1)
    return has_negation(main)


# A "Yes"/"No" lead needs a sentence about what was asked: this share of the question's words
# (customers add their own details: "Can you swap my jacket for another size?" shares "swap"
# alone with "We do not swap items directly.").
LEAD_COVERAGE = 0.25


def may_lead(sentence: str, question: str, known: Callable[[str], bool] | None = None) -> str:
    """The lead ("yes", "no") ``sentence`` may take in answer to ``question``, or "": only for a
    yes/no question, only when the sentence holds at least ``LEAD_COVERAGE`` of the question's
    words and its rarest one (so "Can I pay with PayPal at the kiosk?" gets no "Yes" from "We
    accept Visa and Mastercard at every kiosk."), and "No" exactly when the sentence says no
    (``says_no``). With ``known`` (whether the articles use a word), a word the articles never
    use is rarer than any they do: "does skylark have a lounge?" is about a lounge, not about
    the company every article names."""
    if not is_yes_no_question(question):
        return ""
    asked = set(tokenize(question))
    said = set(tokenize(sentence))
    if not asked or len(asked & said) / len(asked) < LEAD_COVERAGE:
        return ""
    english = english_words()
    words = [w for w in re.findall(r"[a-z]+", question.lower()) if w not in STOPWORDS and len(w) > 2]

    def used(word: str) -> bool:
        return known is None or known(word) or (word.endswith("s") and known(word[:-1]))

    rarest = min(words, key=lambda w: (used(w), english.get(w, 0), w)) if words else ""
    if rarest and stem(rarest) not in said:
        return ""  # "Can I pay with PayPal at the kiosk?" is about PayPal, not about kiosks
    return "no" if says_no(sentence) else "yes"


def split_lead(sentence: str) -> tuple[str, str]:
    """("yes"/"no"/"", the sentence without that lead)."""
    found = _LEAD.match(sentence)
    if not found:
        return "", sentence
    return found.group(1).lower(), sentence[found.end() :]


class Verifier:
    def check(self, sentence: str, sent: Sequence[str]) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class Restating(Verifier):
    """Passes a sentence that restates one evidence unit word for word (see the module docstring)."""

    units: Sequence[str]
    question: str
    extra: Sequence[str] = ()  # whole sentences the bot may also say (its own fixed phrases)
    known: Callable[[str], bool] | None = None  # whether the articles use a word (``may_lead``)
    _allowed: set[str] = field(init=False, repr=False)
    _extra: set[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # A unit of two sentences (a list item: "E42: the dock has lost its connection. Try a
        # bike in a different dock.") is read, as every reply is, one sentence at a time.
        self._allowed = {normalized(s) for u in self.units for s in (u, *split_sentences(u))}
        self._extra = {normalized(e) for e in self.extra}

    def check(self, sentence: str, sent: Sequence[str]) -> bool:
        said = normalized(sentence)
        if any(normalized(s) == said for s in sent):
            return False  # saying a sentence twice
        if said in self._extra:
            return True
        lead, core = split_lead(sentence)
        if not self._restates(core):
            return False
        return not lead or (not sent and lead == may_lead(core, self.question, self.known))

    def _restates(self, text: str) -> bool:
        """Whether ``text`` is a unit or one of its sentences, or a list's lead-in read as one
        sentence with the item after it ("When your departure is delayed, we'll help you while
        you wait: If ...")."""
        if normalized(text) in self._allowed:
            return True
        head, colon, rest = text.partition(": ")
        return bool(colon) and normalized(head) in self._allowed and self._restates(rest)


@dataclass
class Grounded(Verifier):
    """Passes a sentence whose facts the support text holds and whose words mostly come from
    the evidence (an instruct model's paraphrase)."""

    support: facts.Support
    evidence: str
    extra: Sequence[str] = ()
    min_overlap: float = 0.5
    _vocabulary: set[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._vocabulary = set(tokenize(self.evidence))

    def check(self, sentence: str, sent: Sequence[str]) -> bool:
        if normalized(sentence) in {normalized(e) for e in self.extra}:
            return True
        if facts.unsupported_facts(sentence, self.support) or facts.repeats_itself(" ".join([*sent, sentence])):
            return False
        words = tokenize(split_lead(sentence)[1])
        if not words:
            return not sent  # "Yes." alone, as a first sentence
        return sum(w in self._vocabulary for w in words) / len(words) >= self.min_overlap


class SentenceGate:
    """Forwards a growing reply one verified sentence at a time (see the module docstring).

    ``feed`` takes the whole text so far; ``finish`` the final text. After the first sentence
    that fails, ``broken`` is set and nothing more is forwarded. ``full`` is set once
    ``MAX_SENTENCES`` have passed: the caller may stop generating.
    """

    def __init__(self, verifier: Verifier, forward: Forward) -> None:
        self.verifier = verifier
        self.forward = forward
        self.sentences: list[str] = []
        self.broken = False
        self._judged = 0  # sentences of the reply already judged

    @property
    def text(self) -> str:
        """What was forwarded."""
        return " ".join(self.sentences)

    @property
    def full(self) -> bool:
        return len(self.sentences) >= MAX_SENTENCES

    def feed(self, text: str) -> bool:
        return self._judge(text, final=False)

    def finish(self, text: str) -> bool:
        return self._judge(text, final=True)

    def _judge(self, text: str, *, final: bool) -> bool:
        if self.broken or self.full:
            return not self.broken
        pending = split_sentences(text)
        complete = pending if final else pending[:-1]
        for sentence in complete[self._judged :]:
            if self.full:
                break
            self._judged += 1
            if not self.verifier.check(sentence, self.sentences):
                self.broken = True
                return False
            self.forward(sentence if not self.sentences else " " + sentence)
            self.sentences.append(sentence)
        return True
