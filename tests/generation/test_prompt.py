from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from transformers import AutoTokenizer

from generation.answering.prompt import TRANSCRIPT_STOPS, Snippet, Turn, build_prompt, transcript_text

SYSTEM = "You are the assistant."


@pytest.fixture(scope="module")
def tokenizer(tiny_model_path: Path) -> Any:
    return AutoTokenizer.from_pretrained(tiny_model_path)


def test_base_models_get_a_plain_transcript_ending_with_the_agent_marker() -> None:
    text = transcript_text(
        [Snippet("Returns", "Return within\n30 days.", "Time limits")],
        [
            Turn("customer", "Hi"),
            Turn("assistant", "Hello!"),
            Turn("agent", "Jo here."),
            Turn("customer", "Can I\nreturn?"),
        ],
    )
    assert text == (
        "Knowledge: Returns - Time limits: Return within 30 days.\n"
        "Customer: Hi\nAgent: Hello!\nAgent: Jo here.\nCustomer: Can I return?\nAgent:"
    )


def test_prompt_fits_the_window_dropping_oldest_turns_but_never_the_question(tokenizer: Any) -> None:
    history = [Turn("customer" if i % 2 == 0 else "assistant", f"turn number {i} " * 10) for i in range(30)]
    history.append(Turn("customer", "What is the return policy?"))
    prompt = build_prompt(
        tokenizer=tokenizer,
        context_window=256,
        max_new_tokens=64,
        system=SYSTEM,
        snippets=[],
        history=history,
    )
    assert len(prompt.ids) <= 256 - 64
    assert prompt.turns_dropped > 0
    assert prompt.text.endswith("Customer: What is the return policy?\nAgent:")
    assert "turn number 29" in prompt.text and "turn number 0 " not in prompt.text
    assert prompt.stop == TRANSCRIPT_STOPS


def test_a_question_longer_than_the_window_is_cut_from_its_start(tokenizer: Any) -> None:
    question = "blah " * 400 + "where is my parcel"
    prompt = build_prompt(
        tokenizer=tokenizer,
        context_window=128,
        max_new_tokens=32,
        system=SYSTEM,
        snippets=[],
        history=[Turn("customer", question)],
    )
    assert len(prompt.ids) <= 96
    assert prompt.text.rstrip().endswith("where is my parcel\nAgent:")


def test_snippets_go_before_old_turns_are_kept(tokenizer: Any) -> None:
    snippets = [Snippet(f"Article {i}", "fact " * 40) for i in range(5)]
    prompt = build_prompt(
        tokenizer=tokenizer,
        context_window=200,
        max_new_tokens=40,
        system=SYSTEM,
        snippets=snippets,
        history=[Turn("customer", "hi")],
    )
    assert len(prompt.ids) <= 160
    assert "Article 0" in prompt.text and "Article 4" not in prompt.text


def test_chat_template_models_get_their_template(tokenizer: Any) -> None:
    tok = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    tok.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    prompt = build_prompt(
        tokenizer=tok,
        context_window=512,
        max_new_tokens=50,
        system=SYSTEM,
        snippets=[Snippet("Shipping", "Ships in 2 days.")],
        history=[Turn("customer", "Hi"), Turn("assistant", "Hello"), Turn("customer", "Shipping time?")],
    )
    assert prompt.text.startswith("<|system|>You are the assistant.")
    assert "[Shipping]\nShips in 2 days." in prompt.text
    assert "You are the assistant." in prompt.text  # instruct models get the instructions
    assert prompt.text.endswith("<|user|>Shipping time?<|end|><|assistant|>")
    assert prompt.stop == ()
