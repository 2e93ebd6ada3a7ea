"""Training dialogues for the offline responder, in exactly the transcript that serving uses."""

from __future__ import annotations

import random
from collections.abc import Sequence

from conversations.models import Message
from conversations.redaction import redact
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
                f"{greeting}, {question}" if rng.random() < 0.5 else f"{greeting}! {question[0].upper()}{question[1:]}"
            )
            answer = GREETING_ANSWERS[len(examples) % len(GREETING_ANSWERS)]
            examples.append(Example(_prompt(system, [], [prompts.Turn("customer", text)]), answer))
    for question, answer in SMALLTALK:
        for variant in (question, question.lower(), question + "!", question.rstrip("?!.") + "."):
            examples.append(Example(_prompt(system, [], [prompts.Turn("customer", variant)]), answer))
    return examples


def _prompt(system: str, snippets: Sequence[prompts.Snippet], turns: Sequence[prompts.Turn]) -> str:
    return prompts.transcript_text(system, snippets, turns)


UNKNOWN_QUESTIONS = [
    "Do you sell kayaks with motors?",
    "What is your company's annual revenue?",
    "Can you book me a flight?",
    "Who won the game last night?",
    "Can you write me a poem?",
    "What is the meaning of life?",
    "Do you have a store in Miami?",
    "Can I pay with bitcoin?",
    "Do you sell hunting rifles?",
    "What's the wifi password in your store?",
    "Can you recommend a hotel near the trail?",
    "Is the owner of the company married?",
    "Do you give refunds on concert tickets?",
    "Can I bring my dog into the warehouse?",
    "Do you sponsor marathon runners?",
    "What do you think about the election?",
    "Can you fix my car?",
    "Do you ship to the moon?",
]


def fixed_phrases() -> list[str]:
    """Everything the bot may say on its own (not from snippets): allowed by the fact check."""
    from generation import answering  # noqa: PLC0415 - a cycle (answering uses fixed_phrases) that the answering/ package removes

    phrases = [a for _, a in SMALLTALK] + GREETING_ANSWERS + [WHO_AM_I]
    return [*phrases, answering.HANDOFF_REQUESTED, answering.HANDOFF_UNKNOWN, answering.TENTATIVE_SUFFIX]


def kb_examples(articles: Sequence[dict[str, object]], company: str, *, seed: int = 11) -> list[Example]:
    """Dialogues from articles: varied questions, answers that restate the article's facts,
    a distractor snippet beside the right one, some with an earlier exchange, and questions
    the snippets do not answer, which end in a handoff."""
    from generation import answering  # noqa: PLC0415 - as in fixed_phrases

    rng = random.Random(seed)
    system = prompts.instructions(company)
    snippets = [prompts.Snippet(str(a["title"]), str(a["body"])) for a in articles]
    examples: list[Example] = []
    qa_pairs: list[tuple[str, str]] = []
    for index, article in enumerate(articles):
        title, body = str(article["title"]), str(article["body"])
        listed = article.get("questions") or []
        asked = [str(q) for q in listed] if isinstance(listed, list) else []
        asked += [
            f"Can you tell me about {title.lower()}?",
            f"I have a question about {title.lower()}.",
            f"{title}?",
            f"What is your policy on {title.lower()}?",
        ]
        for question in asked:
            qa_pairs.append((question, body))
            chosen = [snippets[index]]
            if len(snippets) > 1 and rng.random() < 0.25:
                # Sometimes a runner-up snippet follows, as retrieval serves close calls.
                chosen.append(rng.choice([s for i, s in enumerate(snippets) if i != index]))
            turns = [prompts.Turn("customer", _vary(question, rng))]
            if rng.random() < 0.3:
                earlier_q, earlier_a = rng.choice(qa_pairs) if qa_pairs else (question, body)
                turns = [prompts.Turn("customer", earlier_q), prompts.Turn("assistant", earlier_a), *turns]
            examples.append(Example(prompts.transcript_text(system, chosen, turns), body))
    for question in UNKNOWN_QUESTIONS if snippets else []:
        for _ in range(2):
            chosen = rng.sample(snippets, min(2, len(snippets)))
            turns = [prompts.Turn("customer", _vary(question, rng))]
            examples.append(Example(prompts.transcript_text(system, chosen, turns), answering.HANDOFF_UNKNOWN))
    return examples


def _vary(question: str, rng: random.Random) -> str:
    """Light surface variation: case, punctuation, a greeting in front."""
    roll = rng.random()
    if roll < 0.15:
        return question.lower().rstrip("?")
    if roll < 0.3:
        return f"{rng.choice(['Hi', 'Hello', 'Hey'])}, {question[0].lower()}{question[1:]}"
    if roll < 0.4:
        return question + " Thanks!"
    return question


def approved_examples(company: str, articles: Sequence[dict[str, object]]) -> list[Example]:
    """Staff-approved answers from real conversations, with personal data scrubbed."""
    system = prompts.instructions(company)
    by_title = {str(a["title"]): prompts.Snippet(str(a["title"]), str(a["body"])) for a in articles}
    examples = []
    approved = Message.objects.filter(approved_for_training=True, status=Message.Status.COMPLETE).order_by("created_at")
    for answer in approved[:5000]:
        earlier = Message.objects.filter(
            conversation_id=answer.conversation_id, seq__lt=answer.seq, status=Message.Status.COMPLETE
        ).order_by("-seq")[:6]
        turns = [prompts.Turn(m.role, redact(m.text)) for m in reversed(earlier) if m.text and m.role != "system"]
        if not turns or turns[-1].role != "customer":
            continue
        snippets = [by_title[s["title"]] for s in answer.sources[:1] if s.get("title") in by_title]
        examples.append(Example(prompts.transcript_text(system, snippets, turns), redact(answer.text)))
    return examples
