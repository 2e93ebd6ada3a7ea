"""The replies a restating model may write, as a constraint on its decoding.

The offline responder answers by restating its evidence: one to ``MAX_SENTENCES`` of the
evidence's units word for word, each at most once — the one that answers best first (evidence
selection ranks them better than a small model does: on the long-article development base the
model's own pick held the facts 24 times in 60, retrieval's best 32), then the others it
chooses, in the order it chooses, the first led by "Yes, " or "No, " where the gate allows one
(``gate.may_lead``) — or, where retrieval is unsure, ``phrases.NOT_FOUND`` when the evidence
does not answer. The model decides which of these it writes, token by token; the engine only
keeps it from leaving them (generation/engine/constraints.py), so a small model that has not
learnt to copy exactly never garbles a sentence, and the gate (generation/answering/gate.py)
passes what it writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import permutations

from generation.answering import phrases
from generation.answering.gate import MAX_SENTENCES, may_lead


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
    """The allowed replies for evidence ``units`` whose unit ``first`` answers best: it leads
    (so an answer always starts with what was asked), then any of the others may follow;
    ``may_not_find``: the model may also say the evidence does not answer."""

    def __init__(
        self,
        units: Sequence[str],
        question: str,
        *,
        first: int = 0,
        may_not_find: bool = True,
        ordinary: Callable[[str], bool] = _never,
    ) -> None:
        units = [_squash(u) for u in units]
        lead_unit, others = units[first], [u for i, u in enumerate(units) if i != first]
        lead = may_lead(lead_unit, question)
        replies = {phrases.NOT_FOUND} if may_not_find else set()
        for size in range(min(MAX_SENTENCES, len(units))):
            for order in permutations(others, size):
                rest = " ".join(order)
                replies.add(_squash(f"{lead_unit} {rest}"))
                if lead:
                    replies.add(_squash(f"{lead.capitalize()}, {_lowered(lead_unit, ordinary)} {rest}"))
        self.replies = frozenset(replies)

    def allows(self, text: str) -> bool:
        text = _squash(text)
        return any(reply.startswith(text) for reply in self.replies)

    def complete(self, text: str) -> bool:
        return _squash(text) in self.replies

    def continuation(self, text: str) -> str:
        """What the shortest allowed reply that ``text`` begins still needs ("" when complete
        or lost)."""
        text = _squash(text)
        if text in self.replies:
            return ""
        longer = sorted((r for r in self.replies if r.startswith(text)), key=len)
        return longer[0][len(text) :] if longer else ""
