"""Constrained decoding: a request may carry a ``TextConstraint``, and then every token picked
for it keeps its reply a possible one.

The constraint speaks text, not tokens, so it does not care how a tokenizer splits a word: at
each position the model's preferred tokens are tried best first (the top ``CANDIDATES``), and
the first whose text the constraint allows is taken; the end of the sequence is taken only
where the constraint says the reply may end. When none of those is allowed before the token
that starts the text the constraint would continue with (the steering token), in the model's
own order, the reply is steered: that token is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

CANDIDATES = 32


class TextConstraint(Protocol):
    def allows(self, text: str) -> bool:
        """Whether ``text`` (the reply so far) can still become an allowed reply."""
        ...

    def complete(self, text: str) -> bool:
        """Whether ``text`` is a whole allowed reply (the reply may end here)."""
        ...

    def continuation(self, text: str) -> str:
        """Text that keeps ``text`` on its way to an allowed reply ("" when it is complete)."""
        ...


def constrained_pick(
    constraint: TextConstraint,
    logits: torch.Tensor,
    *,
    text_with: Callable[[int], str],
    text: str,
    eos_ids: frozenset[int],
    first_token_of: Callable[[str], int | None],
    best: int | None = None,
) -> int:
    """The best token of ``logits`` that the constraint allows after ``text``; ``text_with(t)``
    is the reply's text with token ``t`` added. ``best``: the row's argmax, where the caller
    has it (the scheduler takes every row's at once)."""
    # A model that restates its evidence mostly prefers an allowed token: its best one is then
    # the pick, with no top-k or steering token to work out.
    if best is not None:
        if best in eos_ids:
            if constraint.complete(text):
                return best
        elif constraint.allows(text_with(best)):
            return best
    eos = min(eos_ids) if eos_ids else -1
    rest = constraint.continuation(text)
    forced = first_token_of(rest) if rest else None
    # The steering token competes on its own logit: a candidate it outranks is not taken, so a
    # reply the model likes less (a logit bias against it, say) loses to the way on.
    floor = float(logits[forced]) if forced is not None else float("-inf")
    for token in torch.topk(logits, min(CANDIDATES, logits.shape[-1])).indices.tolist():
        if float(logits[token]) < floor:
            break
        if token == best:
            continue  # refused above
        if token in eos_ids:
            if constraint.complete(text):
                return int(token)
            continue
        if constraint.allows(text_with(token)):
            return int(token)
    if forced is None:
        return eos
    return forced
