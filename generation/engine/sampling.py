"""Picking a sequence's next token from its logits: greedy or sampled (temperature, top-p,
seeded per request), never completing an n-gram the reply has already generated when the
request bans repeats."""

from __future__ import annotations

import torch

from generation.engine.sequence import Sequence


def pick(seq: Sequence, logits: torch.Tensor, greedy: int) -> int:
    """The next token of ``seq`` from one position's ``logits``; ``greedy`` is their argmax,
    computed for the whole batch at once."""
    params = seq.stream.params
    n = params.no_repeat_ngram_size
    banned: set[int] = set()
    if n > 0 and len(seq.generated) >= n - 1:
        banned = seq.ngrams.get(tuple(seq.generated[len(seq.generated) - n + 1 :]), set())
    if params.temperature <= 0:
        if greedy not in banned:
            return greedy
        logits = logits.clone()
        logits[list(banned)] = float("-inf")
        return int(torch.argmax(logits).item())
    logits = logits / params.temperature
    if banned:
        logits = logits.clone()
        logits[list(banned)] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < params.top_p
        sorted_probs = sorted_probs * keep
        probs = torch.zeros_like(probs).scatter(0, order, sorted_probs)
    return int(torch.multinomial(probs.cpu(), 1, generator=seq.generator).item())


def remember_ngram(seq: Sequence, n: int) -> None:
    """After a token is added to ``seq.generated``: ban its last ``n``-gram from recurring."""
    if n > 0 and len(seq.generated) >= n:
        gram = tuple(seq.generated[-n:])
        seq.ngrams.setdefault(gram[:-1], set()).add(gram[-1])
