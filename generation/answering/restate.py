"""The replies a restating model may write, as a constraint on its decoding.

The offline responder answers by restating its evidence: the evidence's units from one at or
before ``Evidence.best`` (the unit evidence selection ranked best, or the lead-in of its list,
or an earlier unit stating the value asked for) to the last, word for word and in the article's
order — the model chooses where it starts, so it drops a sentence before that does not answer,
and keeps what follows the best unit, where the rest of an answer most often is — led by "Yes, "
or "No, " where the gate allows one (``gate.may_lead``). Whether the evidence answers at all is
retrieval's and the policy's call (generation/answering/policy.py), made before the model runs.

The model decides which of these it writes, token by token; the engine only keeps it from
leaving them (generation/engine/constraints.py), so a small model that has not learnt to copy
exactly never garbles a sentence, and the gate (generation/answering/gate.py) passes what it
writes. Letting the model also choose where the run ends cost answers their facts: a small
model stops after the best unit too often (docs/benchmarks.md).

Every text the constraint allows can be finished from the evidence alone, so ``EagerStream``
forwards it word by word as the model writes, not sentence by sentence: the customer reads the
first words right after the model's first tokens, and nothing is ever taken back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from generation.answering.gate import MAX_SENTENCES, Forward, Restating, may_lead
from generation.knowledge.passages import split_sentences

logger = logging.getLogger(__name__)


def _squash(text: str) -> str:
    return " ".join(text.split())


# Words whose capital only marks a sentence's start, whatever the articles say: after "Yes, "
# they are lowered. Another first word is lowered only where ``ordinary`` says so, since it may
# be a name ("PayPal", "Spokes").
ORDINARY_OPENINGS = frozenset(
    """a an the you your we our us it its they their there this that these those all any each every
    most some many if when to for in on at after before during once only""".split()
)


def _lowered(sentence: str, ordinary: Callable[[str], bool]) -> str:
    first = sentence.split(" ", 1)[0].strip(",;:")
    if first.lower() in ORDINARY_OPENINGS or ordinary(first):
        return sentence[:1].lower() + sentence[1:]
    return sentence


def _never(_: str) -> bool:
    return False


class Restatements:
    """The allowed replies for evidence ``units`` (in the article's order) whose unit ``first``
    is where an answer starts (``Evidence.best``): the units from one at or before it to the
    last, in the article's order (so a sentence that leans on the one before it may keep it),
    led by "Yes, "/"No, " where the run starts with ``first`` and the gate allows that lead."""

    def __init__(
        self,
        units: Sequence[str],
        question: str,
        *,
        first: int = 0,
        ordinary: Callable[[str], bool] = _never,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        units = [_squash(u) for u in units]
        self.units = units
        self.question = question
        self.known = known
        lead = may_lead(units[first], question, known)
        replies = set()
        for start in range(first + 1):
            run = units[start:]
            replies.add(" ".join(run))
            if lead and start == first:
                replies.add(_squash(f"{lead.capitalize()}, {_lowered(run[0], ordinary)} {' '.join(run[1:])}"))
        self.replies = frozenset(replies)

    # The reply's text is matched as written (after its leading spaces): a model that repeats
    # a space has left the allowed replies, which are written with single spaces.
    def allows(self, text: str) -> bool:
        return any(self._begun(text))

    def _begun(self, text: str) -> list[str]:
        """The allowed replies that begin with ``text`` (after its leading spaces)."""
        text = text.lstrip()
        return [reply for reply in self.replies if reply.startswith(text)]

    def complete(self, text: str) -> bool:
        return text.strip() in self.replies

    def settled(self, text: str) -> str:
        """The longest text that every allowed reply beginning with ``text`` begins with
        (``text`` itself where none does)."""
        matching = self._begun(text)
        return os.path.commonprefix(matching) if matching else text  # noqa: RUF071 - strings, not paths

    def continuation(self, text: str) -> str:
        """What the shortest allowed answer that ``text`` begins still needs ("" when complete
        or lost)."""
        text = text.lstrip()
        if text.rstrip() in self.replies:
            return ""
        # Steered, the model is taken to the shortest answer that it has begun.
        longer = sorted(self._begun(text), key=len)
        return longer[0][len(text) :] if longer else ""


class EagerStream:
    """Forwards a reply that ``allowed`` constrains while the model writes it, a word at a time.

    Any text the constraint allows is the start of an allowed reply, so what is forwarded is
    never taken back: ``finish`` completes the reply from the evidence (``continuation``) when
    the model stopped short of its end (a timeout, the token limit). A reply ends after
    ``max_sentences`` sentences (``MAX_SENTENCES`` unless given: the writer gives the evidence's
    own count, so that a restatement may run as far as a quote).
    """

    def __init__(self, allowed: Restatements, forward: Forward, *, max_sentences: int = MAX_SENTENCES) -> None:
        self.allowed = allowed
        self.forward = forward
        self.max_sentences = max_sentences
        self.sent = ""  # what was forwarded
        self.full = False  # a sentence past the last one began: the caller may stop generating

    def feed(self, text: str) -> None:
        text = text.lstrip()
        if self.full or not self.allowed.allows(text):
            return
        sentences = split_sentences(text)
        if len(sentences) > self.max_sentences:
            self.full = True
            text = " ".join(sentences[: self.max_sentences])
        else:
            # Whole words only. The word being written goes out whole at once where every
            # allowed reply finishes it the same way ("Sta" -> "Standard"): the customer does not
            # wait a decoding step for the space after it.
            ahead = self.allowed.settled(text)
            end = ahead.find(" ", len(text))
            text = ahead[:end] if end >= 0 else text[: max(text.rfind(" "), 0)]
        self._forward_to(text)

    def finish(self, text: str) -> str:
        """The whole reply, its start the text forwarded so far."""
        text = text.lstrip()
        if not self.allowed.allows(text):
            text = self.sent
        completed = (text + self.allowed.continuation(text)).strip()
        sentences = split_sentences(completed)
        capped = " ".join(sentences[: self.max_sentences])
        if capped.startswith(self.sent):
            reply, sentences = capped, sentences[: self.max_sentences]
        else:
            reply = completed
        verifier = Restating(self.allowed.units, self.allowed.question, known=self.allowed.known)
        passed: list[str] = []
        for sentence in sentences:
            if not verifier.check(sentence, passed):
                logger.warning("a streamed restatement fails the gate: %r", sentence)
            passed.append(sentence)
        self._forward_to(reply)
        return reply

    def _forward_to(self, text: str) -> None:
        if len(text) > len(self.sent) and text.startswith(self.sent):
            self.forward(text[len(self.sent) :])
            self.sent = text
