"""What a message asks for before any search: a person, no more of the bot, nothing it may
answer (an injection, one customer's record). The policy (generation/answering/policy.py) asks
these first, and hands off or declines at once where one says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from generation.answering.prompt import Turn

# A customer asking for a person: "can I talk to a real person?", "speak to someone", "get me a
# human", "transfer me to an agent", or the word alone ("agent please", "representative"). A
# person named in a question about something else ("can my travel agent change it?") is not one.
_PEOPLE = r"(?:person|human|agent|representative|rep|someone|somebody|staff|team|manager|supervisor|operator|people)"
_HUMAN = re.compile(
    r"\b(?:human being|real person|someone real|live (?:agent|person|chat)|customer service rep"
    rf"|(?:talk|speak|chat)(?:ing)? (?:to|with) (?:(?:a|an|the|your|some|real|live|actual|proper)\s+)*{_PEOPLE}"
    rf"|(?:talk|speak|chat) to someone|representative|operator"
    rf"|(?:get|put|connect|transfer|pass|escalate)\s+me\s+(?:through\s+)?(?:to|with)?\s*(?:(?:a|an|the|your|real|live)\s+)*{_PEOPLE}"
    r"|(?:i|we)\s+(?:want|need|would like|'d like)\s+(?:(?:a|an|the|to|talk|speak|chat|with|real|live|actual)\s+)*"
    r"(?:person|human|agent|manager|supervisor)\b(?!\s+(?:to|who|that)\b))\b"
    rf"|^\W*(?:(?:a|an|real|live|human)\s+)?(?:agent|human|person|representative|manager)(?:\s+(?:please|pls|plz|now|asap))*\W*$",
    re.IGNORECASE,
)
_INJECTION = re.compile(
    r"(ignore|disregard|forget) (?:all |any |your |the |previous |prior |above |earlier )*"
    r"(instructions|rules|prompt|guidelines)|system prompt|your (?:instructions|prompt|rules)|"
    r"developer mode|jailbreak|you are now|pretend (?:to be|you are)|act as (?:an?|the) ",
    re.IGNORECASE,
)
# "it didnt work", "that's not what I asked": the customer says the last answer did not help.
_NOT_HELPED = re.compile(
    r"\b(?:did|does|do|is|was|has|have)\s?n[o'’]?t\s+(?:work|help|answer|fix|solve)|"
    r"\bstill (?:not|does\s?n[o'’]?t|can'?t|cannot|won'?t|is\s?n[o'’]?t|no)\b|"
    r"\bnot (?:working|helpful|what i (?:asked|meant|need|wanted))\b|\bno help\b|"
    r"\bwrong answer\b|\bthat'?s (?:not right|wrong|not it)\b|\buseless\b",
    re.IGNORECASE,
)
# ... unless it asks about that case ("what if the link doesn't work?").
HYPOTHETICAL = re.compile(
    r"^\W*(?:and |but |so |ok |okay )?(?:what (?:about |happens )?if|if|in case|suppose)\b", re.IGNORECASE
)
NOT_HELPED_WORDS = 10
# An order, invoice, ticket or account number: "#4521", "INV-2291", "SO12345", "55123".
# Money ("$300") and short numbers ("10 days") are not references.
_RECORD = re.compile(r"(?<![\w$€£])(?:#\s?\d{3,}|[a-z]{1,5}-?\d{3,}|\d{5,})(?![\w.,]\d)", re.IGNORECASE)


def record_references(text: str) -> list[str]:
    """Identifiers of individual records in ``text`` (see ``_RECORD``)."""
    return [match.replace(" ", "") for match in _RECORD.findall(text)]


def is_injection(text: str) -> bool:
    return bool(_INJECTION.search(text))


def asks_for_person(text: str) -> bool:
    return bool(_HUMAN.search(text))


def previous_reply(history: Sequence[Turn]) -> str:
    """The bot's last reply before the last message of ``history``; "" when there is none."""
    return next((t.text for t in reversed(history[:-1]) if t.role == "assistant" and t.text.strip()), "")


def says_it_did_not_help(history: Sequence[Turn]) -> bool:
    """Whether the last message, short and after an answer, says that answer did not help."""
    question = history[-1].text if history else ""
    return (
        bool(previous_reply(history))
        and len(question.split()) <= NOT_HELPED_WORDS
        and bool(_NOT_HELPED.search(question))
        and not HYPOTHETICAL.match(question)
    )
