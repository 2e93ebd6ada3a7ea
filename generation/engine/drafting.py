"""Speculative decoding with prompt lookup: drafts, and how much each step checks.

A reply that quotes its prompt (a knowledge snippet) repeats n-grams the prompt already
holds, so the tokens that followed such an n-gram there are a cheap guess at what comes next.
A step feeds each row its next token plus up to ``draft_tokens`` guessed ones, and keeps the
guesses the model agrees with (``Scheduler.postprocess``): several tokens for one step's cost,
and the same text as one token a step. How wide a step is depends on how often each row's
drafts were accepted, so drafts that keep failing stop costing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generation.engine.sequence import Sequence

# The last this-many tokens are looked up in the prompt and the reply.
DRAFT_NGRAM = 3
# The cost of one more position a row in a step, relative to a one-position step (the weights
# are read once for all of them; bench/generation.py measures it).
DRAFT_POSITION_COST = 0.25
# What a new sequence's drafts are expected to be worth: the share of draft tokens accepted.
DRAFT_PRIOR = 0.6


@dataclass
class DraftState:
    """A sequence's prompt + reply tokens, and where each n-gram last continued."""

    context: list[int] = field(default_factory=list)
    continuations: dict[tuple[int, ...], int] = field(default_factory=dict)
    draft_from: int | None = None
    rate: float = DRAFT_PRIOR  # how often its draft tokens were accepted, recently


class Drafter:
    """Proposes drafts for the rows of a step and keeps the acceptance figures."""

    def __init__(self, draft_tokens: int, context_window: int) -> None:
        # Up to this many tokens copied from the prompt are checked in one step (0 = off).
        self.draft_tokens = max(0, draft_tokens)
        self.context_window = context_window
        self.drafted = 0  # draft tokens checked
        self.accepted = 0  # of which the model agreed with

    def index_prompt(self, seq: Sequence) -> None:
        if not self.draft_tokens:
            return
        state = seq.draft
        state.context = list(seq.stream.prompt_ids)
        for end in range(DRAFT_NGRAM, len(state.context) + 1):
            state.continuations[tuple(state.context[end - DRAFT_NGRAM : end])] = end

    def observe(self, seq: Sequence, token: int) -> None:
        """Add a generated token; remember where its n-gram went on before, if anywhere."""
        if not self.draft_tokens:
            return
        state = seq.draft
        state.context.append(token)
        end = len(state.context)
        if end < DRAFT_NGRAM:
            return
        gram = tuple(state.context[end - DRAFT_NGRAM :])
        state.draft_from = state.continuations.get(gram)
        state.continuations[gram] = end

    def propose(self, seq: Sequence) -> list[int]:
        """The tokens that followed the reply's last n-gram where it occurred before (in the
        prompt, typically a knowledge snippet being quoted): a guess the next step checks."""
        state = seq.draft
        if not self.draft_tokens or state.draft_from is None:
            return []
        room = min(
            self.draft_tokens,
            seq.stream.params.max_new_tokens - len(seq.generated) - 1,
            self.context_window - 2 - len(state.context),
        )
        return state.context[state.draft_from : state.draft_from + room] if room > 0 else []

    def plan(self, seqs: list[Sequence], *, enabled: bool) -> tuple[list[list[int]], int]:
        """Each row's draft for the next step, cut to the step's width, and that width
        (positions a row). ``enabled`` is false for caches that cannot take the holes that
        rejected drafts leave (only plain ``DynamicLayer`` caches can)."""
        drafts = [self.propose(s) if enabled else [] for s in seqs]
        width = self._width(seqs, drafts)
        for seq, draft in zip(seqs, drafts, strict=True):
            if draft and width == 1 and seq.draft.rate < DRAFT_PRIOR:
                # An unchecked guess: trust drafts a little more, so that a sequence whose
                # drafts failed before is tried again later.
                seq.draft.rate += 0.05 * (DRAFT_PRIOR - seq.draft.rate)
            del draft[width - 1 :]
        return drafts, width

    def _width(self, seqs: list[Sequence], drafts: list[list[int]]) -> int:
        """The width whose expected tokens per unit of cost is highest, given each row's draft
        and how often its drafts were accepted."""
        longest = max(len(d) for d in drafts)
        if longest == 0:
            return 1
        rows = len(drafts)
        best_width, best_value = 1, 1.0  # one position a row: one token a row per unit
        expected = float(rows)
        for width in range(2, longest + 2):
            # Draft token j (from 1) is kept with probability rate**j: the j-1 before it must be.
            depth = width - 1
            expected += sum(seq.draft.rate**depth for seq, d in zip(seqs, drafts, strict=True) if len(d) >= depth)
            value = expected / (rows * (1 + DRAFT_POSITION_COST * (width - 1)))
            if value > best_value:
                best_width, best_value = width, value
        return best_width

    def record(self, seq: Sequence, draft: list[int], accepted: int) -> None:
        """``accepted`` of the row's ``draft`` tokens were kept in the step just checked."""
        self.drafted += len(draft)
        self.accepted += accepted
        if draft:
            observed = 1.0 if accepted == len(draft) else accepted / (accepted + 1)
            seq.draft.rate = 0.7 * seq.draft.rate + 0.3 * observed
