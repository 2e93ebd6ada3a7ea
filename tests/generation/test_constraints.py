"""How the engine picks a token for a constrained reply (generation/engine/constraints.py)."""

from __future__ import annotations

import random

import torch

from generation.engine.constraints import constrained_pick

VOCAB = ["Sale", " items", " cannot", " be", " returned", ".", " can", "Yes", ",", " sale", "<eos>"]
EOS = len(VOCAB) - 1
REPLIES = ("Sale items cannot be returned.", "Yes, sale items can be returned.")


class Replies:
    """Allows the replies in ``REPLIES`` and nothing else."""

    def allows(self, text: str) -> bool:
        return any(reply.startswith(text) for reply in REPLIES)

    def complete(self, text: str) -> bool:
        return text in REPLIES

    def continuation(self, text: str) -> str:
        return next((r[len(text) :] for r in REPLIES if r.startswith(text)), "")


def first_token_of(text: str) -> int | None:
    return next((i for i, piece in enumerate(VOCAB[:EOS]) if text.startswith(piece)), None)


def pick(text: str, logits: torch.Tensor, best: int | None) -> int:
    return constrained_pick(
        Replies(),
        logits,
        text_with=lambda token: text + VOCAB[token],
        text=text,
        eos_ids=frozenset({EOS}),
        first_token_of=first_token_of,
        best=best,
    )


def test_the_models_best_token_is_taken_when_the_constraint_allows_it() -> None:
    logits = torch.full((len(VOCAB),), -5.0)
    logits[VOCAB.index(" cannot")] = 3.0
    assert pick("Sale items", logits, best=VOCAB.index(" cannot")) == VOCAB.index(" cannot")
    logits[EOS] = 9.0  # the end, before the reply is whole: the next allowed token instead
    assert pick("Sale items", logits, best=EOS) == VOCAB.index(" cannot")
    assert pick("Sale items cannot be returned.", logits, best=EOS) == EOS


def test_passing_the_rows_best_token_never_changes_the_pick() -> None:
    # The scheduler hands each row's argmax over to save the top-k; every pick must be the one
    # the top-k walk alone makes, allowed token or steered one.
    rng = random.Random(7)
    texts = ["", "Sale", "Sale items", "Yes,", "Yes, sale items can", "Sale items cannot be returned."]
    for _ in range(400):
        logits = torch.tensor([rng.gauss(0, 2) for _ in VOCAB])
        text = rng.choice(texts)
        best = int(torch.argmax(logits))
        assert pick(text, logits, best) == pick(text, logits, None), (text, logits)
