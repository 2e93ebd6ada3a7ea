"""What to search for: the last message, with the conversation where it leans on it.

A follow-up ("and how much is that?") is searched with the message before
(generation/answering/followup.py), its typos mended, and ranked with the passages the bot's
previous reply came from a little ahead, and those holding the words it adds further ahead; a
message that does not read as one is searched with the message before where that finds a much
surer match. A message that asks nothing new and would get the previous reply again is told
apart (``Searcher.would_repeat``), so that the policy hands it to a person instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from conversations.redaction import redact
from generation.answering import answer_types, followup, questions, topics
from generation.answering.evidence import Evidence
from generation.answering.prompt import Turn
from generation.answering.screening import previous_reply
from generation.knowledge.bm25 import STOPWORDS, tokenize
from generation.knowledge.index import KnowledgeIndex, PassageHit, confidence

# How many passages a search returns.
SEARCH_DEPTH = 5
# A word of a customer's message, as ``KnowledgeIndex.mentions`` looks words up.
_OWN_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")
# Text that redaction could change (``already_said``).
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
# message before finds a match this much surer than searching it alone (``Searcher.with_earlier``).
FOLLOWUP_GAIN = 0.05
# A follow-up stays on the passage the answer before came from when another matches it at most
# this much better (``Searcher._on_the_answer_before``): at 0.08 a follow-up of northwind's
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


def squashed(text: str) -> str:
    """``text`` lower-cased, each run of spaces and line breaks one space: a reply and an
    article's units compare so."""
    return " ".join(text.split()).lower()


def already_said(unit: str, said: str) -> bool:
    """Whether ``unit`` of an article is in the bot's reply ``said`` (``squashed``) as the
    history holds it, where personal data is redacted: an email address or phone number of the
    article's too (generation/replying.py)."""
    if squashed(unit) in said:
        return True
    # Only text with an "@" or digits can be redacted (emails, phone and card numbers, IBANs):
    # the unit is redacted, as the reply was, only then (it runs for every unit of a follow-up).
    return bool(_REDACTABLE.search(unit)) and squashed(redact(unit)) in said


def holds_share(hit: PassageHit, terms: dict[str, float]) -> float:
    """The share of ``terms`` (by weight) that ``hit``'s title, heading or passage holds; 0
    when there are none."""
    if not terms:
        return 0.0
    present = set(tokenize(f"{hit.title} {hit.passage.heading} {hit.passage.text}"))
    return sum(w for t, w in terms.items() if t in present) / sum(terms.values())


# A search: the query, its vector, the passages found, the confidence.
Search = tuple[str, np.ndarray, list[PassageHit], float]


class Searcher:
    """Searches the knowledge base for the last message of a conversation. Thread-safe: holds
    no per-call state."""

    def __init__(self, index: KnowledgeIndex, *, sure_confidence: float) -> None:
        self.index = index
        self.sure_confidence = sure_confidence

    def search(self, history: Sequence[Turn]) -> Search:
        """What to search for, its vector, the passages found and the confidence."""
        first, followed = self.first_search(history)
        return self.with_earlier(history, first, followed)

    def first_search(self, history: Sequence[Turn]) -> tuple[Search, bool]:
        """The search for the last message, with the one before when it reads as a follow-up
        (generation/answering/followup.py), typos mended; and whether it did read as one."""
        query, followed = followup.retrieval_query(
            history, new_topic=self.names_something_new, mend=self.index.speller.correct
        )
        return self.run(query), followed

    def with_earlier(self, history: Sequence[Turn], first: Search, followed: bool) -> Search:
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
            alone = self.run(question)
            if alone[3] >= FOLLOWUP_ALONE and alone[2] and on_it[2] and alone[2][0].entry is not on_it[2][0].entry:
                return alone
            return on_it
        if first[3] >= self.sure_confidence:
            return first
        joined, followed = followup.retrieval_query(
            history, new_topic=self.names_something_new, joined=True, mend=self.index.speller.correct
        )
        if not followed:
            return first
        second = self.run(joined)
        return self._on_the_answer_before(history, second) if second[3] >= first[3] + FOLLOWUP_GAIN else first

    def _on_the_answer_before(self, history: Sequence[Turn], search: Search) -> Search:
        """A follow-up's ``search`` with the passages the bot's previous reply was built from
        ``FOLLOWUP_STAY`` ahead: "how much?" after the answer about international shipping is
        about international shipping, where the domestic shipping costs match it as well; and
        those holding the words the follow-up adds up to ``FOLLOWUP_OWN`` ahead ("and to
        canada?")."""
        reply = previous_reply(history)
        query, vector, hits, _ = search
        if not reply or not hits:
            return search
        said = squashed(reply)
        units = [(h, h.entry.outline.units[h.passage.start : h.passage.end]) for h in hits]
        before = {id(h) for h, texts in units if any(already_said(u, said) for u in texts)}
        own = self.own_terms(history)
        if not before and not own:
            return search

        ranked = sorted(
            hits,
            key=lambda h: -(h.score + (FOLLOWUP_STAY if id(h) in before else 0.0) + FOLLOWUP_OWN * holds_share(h, own)),
        )
        return query, vector, ranked, confidence(ranked)

    def own_terms(self, history: Sequence[Turn]) -> dict[str, float]:
        """The words of a follow-up that the messages before it did not say, that the articles
        use, with their weight (IDF): "canada" in "and to canada?" after "how much is express
        shipping?"."""
        earlier = {t for turn in history[:-1] if turn.role == "customer" for t in tokenize(turn.text)}
        corrected = self.index.speller.correct(history[-1].text)
        return {t: self.index.idf(t) for t in tokenize(corrected) if t not in earlier and self.index.idf(t) > 0}

    def would_repeat(self, history: Sequence[Turn], found: Evidence) -> bool:
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
        said = squashed(reply)
        return all(already_said(text, said) for text in found.answering)

    def names_something_new(self, text: str) -> bool:
        """Whether ``text`` names something no article mentions; where it asks of something
        said before ("can i pay it in instalments? can't afford it till payday"), what its
        asking part names."""
        asking = questions.asking_part(text)
        if asking != text and questions.leans(asking):
            text = asking
        return self.index.speller.unknown_topic(text) is not None

    def run(self, query: str) -> Search:
        query = self.index.speller.correct(query)
        vector = self.index.embedder.encode_query(query)
        hits = self.index.search(query, k=SEARCH_DEPTH, vector=vector)
        mended = topics.mended_in_context(self.index, query, hits)
        if mended != query:
            # The search goes by what the customer meant; the query stays as written, so that a
            # follow-up is still told from a message on its own.
            vector = self.index.embedder.encode_query(mended)
            hits = self.index.search(mended, k=SEARCH_DEPTH, vector=vector)
        return query, vector, hits, confidence(hits)
