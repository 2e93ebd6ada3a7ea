"""What the bot says in its own words: handoffs, the decline, small talk. Every phrase here is
one the fact gate lets through whatever the knowledge base holds."""

from __future__ import annotations

HANDOVER = "A member of our team will take over this conversation and reply here shortly."
HANDOFF_REQUESTED = f"Of course. {HANDOVER}"
# What the offline responder learns to say when its passage does not answer the question.
NOT_FOUND = "I'm sorry, I couldn't find an answer to that in our help centre."
HANDOFF_UNKNOWN = f"{NOT_FOUND} {HANDOVER}"
HANDOFF_NOTHING_MORE = f"I'm afraid our help centre says no more about this than my answer above. {HANDOVER}"
HANDOFF_NOT_UNDERSTOOD = f"I'm sorry, I didn't understand that. {HANDOVER}"
HANDOFF_NOT_HELPED = f"I'm sorry that didn't help. {HANDOVER}"
HANDOFF_RECORD = f"I can't look up individual orders, invoices or accounts myself. {HANDOVER}"
TENTATIVE_SUFFIX = " I'm not certain, so a member of our team will check and reply here."
EMPTY_HISTORY = "How can I help you today?"


def not_found_about(topic: str) -> str:
    """The honest handoff naming what the help centre has nothing about ("kayaks")."""
    return f"I'm sorry, I couldn't find anything about {topic} in our help centre. {HANDOVER}"


def not_listed(thing: str) -> str:
    """The honest handoff for a thing whose value the help centre's table does not list ("how
    much to assemble a desk?" where the assembly prices list beds and wardrobes)."""
    if not (thing.endswith("s") and not thing.endswith("ss")):
        thing = f"{'an' if thing[0] in 'aeiou' else 'a'} {thing}"
    return f"I'm sorry, our help centre doesn't say that for {thing}. {HANDOVER}"


def declined(company: str) -> str:
    return (
        f"I can only help with questions about {company}: our products, orders and policies. "
        "I can't share or change how I work. What can I help you with?"
    )


GREETING = "Hello! I'm the virtual assistant of {company}. What can I help you with today?"
SMALLTALK_REPLIES = {
    "greeting": GREETING,
    "wellbeing": "I'm doing well, thank you for asking! What can I help you with today?",
    "thanks": "You're welcome! Is there anything else I can help you with?",
    "goodbye": "Goodbye, and thank you for contacting us. Have a great day!",
    "identity": (
        "I'm the virtual assistant of {company}. I answer questions from our help centre, and a member "
        "of our team can take over at any time."
    ),
    "acknowledgement": "Is there anything else I can help you with?",
    "yes": "Sure, what would you like to know?",
    "no": "Alright. If there's anything else, just ask here.",
    "question": "Of course. What would you like to know?",
    "problem": "I'm sorry to hear that. Tell me what's happening, and I'll see what our help centre says.",
}


def fixed_phrases(company: str) -> list[str]:
    """Everything the bot may say on its own, not from the knowledge base."""
    return [
        HANDOFF_REQUESTED,
        HANDOFF_UNKNOWN,
        HANDOFF_RECORD,
        HANDOFF_NOTHING_MORE,
        HANDOFF_NOT_HELPED,
        HANDOFF_NOT_UNDERSTOOD,
        TENTATIVE_SUFFIX.strip(),
        EMPTY_HISTORY,
        declined(company),
        *(reply.format(company=company) for reply in SMALLTALK_REPLIES.values()),
    ]
