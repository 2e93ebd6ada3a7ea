"""Training dialogues for the offline responder, in exactly the transcript that serving uses."""

from __future__ import annotations

import random
from collections.abc import Sequence

from generation import prompt as prompts
from generation.offline import Example

GREETINGS = [
    "Hello",
    "Hi",
    "Hey",
    "Good morning",
    "Good afternoon",
    "Good evening",
    "Hello there",
    "Hi there",
    "Hey there",
    "Hiya",
    "Greetings",
]
HOW_ARE_YOU = [
    "how are you?",
    "how are you doing?",
    "how's it going?",
    "how are you today?",
    "are you there?",
    "is anyone there?",
    "can you help me?",
    "I have a question.",
]
GREETING_ANSWERS = [
    "Hello! I'm doing well, thank you for asking. How can I help you today?",
    "Hi! Thanks for getting in touch. What can I help you with today?",
    "Hello! I'm here and happy to help. What would you like to know?",
]
WHO_AM_I = (
    "I'm the virtual support assistant. I can answer questions about our shop, "
    "and a member of our team can take over at any time."
)
SMALLTALK = [
    ("Thank you", "You're welcome! Is there anything else I can help you with?"),
    ("Thanks a lot", "You're welcome! Is there anything else I can help you with?"),
    ("thanks, that helps", "Glad I could help! Is there anything else you would like to know?"),
    ("Goodbye", "Goodbye, and thank you for contacting us. Have a great day!"),
    ("bye", "Goodbye, and thank you for contacting us. Have a great day!"),
    ("Who are you?", WHO_AM_I),
    ("Are you a robot?", WHO_AM_I),
    (
        "I want to talk to a human",
        "Of course. A member of our team will take over this conversation and reply here shortly.",
    ),
    (
        "Can I speak to a person?",
        "Of course. A member of our team will take over this conversation and reply here shortly.",
    ),
    (
        "let me talk to an agent please",
        "Of course. A member of our team will take over this conversation and reply here shortly.",
    ),
    ("ok", "Is there anything else I can help you with?"),
]


def smalltalk_examples(company: str, *, seed: int = 7) -> list[Example]:
    rng = random.Random(seed)
    system = prompts.instructions(company)
    examples: list[Example] = []
    for greeting in GREETINGS:
        for question in HOW_ARE_YOU:
            text = (
                f"{greeting}, {question}"
                if rng.random() < 0.5
                else f"{greeting}! {question[0].upper()}{question[1:]}"
            )
            answer = GREETING_ANSWERS[len(examples) % len(GREETING_ANSWERS)]
            examples.append(Example(_prompt(system, [], [prompts.Turn("customer", text)]), answer))
    for question, answer in SMALLTALK:
        for variant in (question, question.lower(), question + "!", question.rstrip("?!.") + "."):
            examples.append(Example(_prompt(system, [], [prompts.Turn("customer", variant)]), answer))
    return examples


def _prompt(system: str, snippets: Sequence[prompts.Snippet], turns: Sequence[prompts.Turn]) -> str:
    return prompts.transcript_text(system, snippets, turns)
