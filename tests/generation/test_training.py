"""The responder's training step: the loss on the answers, with the LM head run only there."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from generation.responder import training


def _tiny(arch: str) -> Any:
    """A small model of ``arch`` in eval mode: dropout off, so that two passes can be compared."""
    torch.manual_seed(7)
    if arch == "gpt2":
        config = AutoConfig.for_model("gpt2", vocab_size=300, n_embd=32, n_layer=2, n_head=2, n_positions=64)
    else:
        config = AutoConfig.for_model(
            arch,
            vocab_size=300,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=16,
            pad_token_id=0,
        )
    return AutoModelForCausalLM.from_config(config).eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two dialogues of different lengths, right-padded: a prompt without labels, then an
    answer with them, as ``train_loop`` builds its batches."""
    generator = torch.Generator().manual_seed(3)
    ids = torch.randint(1, 300, (2, 24), generator=generator)
    attention = torch.ones_like(ids)
    attention[1, 18:] = 0
    labels = ids.clone()
    labels[0, :15] = -100
    labels[1, :10] = -100
    labels[1, 18:] = -100
    return ids, attention, labels


@pytest.mark.parametrize("arch", sorted(training.PLAIN_HEAD))
def test_the_answer_loss_and_its_gradients_are_the_models_own(arch: str) -> None:
    ids, attention, labels = _batch()
    model = _tiny(arch)
    own = model(input_ids=ids, attention_mask=attention, labels=labels).loss
    own.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    loss = training.answer_loss(model, ids, attention, labels)
    loss.backward()

    assert loss.item() == pytest.approx(own.item(), rel=1e-5)
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def test_a_label_moved_onto_the_prompt_changes_the_answer_loss() -> None:
    """The loss reads the labels where they are: a step that ignored them (or scored every
    position) would not move."""
    ids, attention, labels = _batch()
    model = _tiny("llama")
    before = training.answer_loss(model, ids, attention, labels).item()
    labels[0, 5] = ids[0, 5]
    assert training.answer_loss(model, ids, attention, labels).item() != pytest.approx(before, rel=1e-6)
