"""Grading answers against an evaluation file, and the report ``evaluate_responder`` prints.

An evaluation file is a JSON list of items:
- ``{"question", "facts": [...], "source"}``: answerable; a right answer contains every fact;
- ``{"question", "handoff": true}``: the knowledge base cannot answer it; the bot must hand the
  conversation over or decline, and must not answer with an article;
- either may carry ``"after": ["earlier message", ...]``: the customer's earlier messages of
  the same conversation, sent first (their answers are not graded) — a follow-up.

Pure functions: the command feeds them what each reply was (in-process or over the websocket).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generation.answering import facts

NEAR_CHARS = 400
WRITTEN = "model"
ANSWERED = ("model", "quote")


class EvaluationFileError(ValueError):
    pass


@dataclass(frozen=True)
class Reply:
    """A reply as the customer got it."""

    text: str
    mode: str  # model | quote | smalltalk | handoff | declined | stopped | failed
    handoff: bool
    sources: Sequence[dict[str, Any]]
    streamed: str  # everything streamed before the final message, in order


@dataclass(frozen=True)
class Grade:
    kind: str  # answerable | unanswerable
    ok: bool
    near: bool  # answerable: every fact within the first NEAR_CHARS characters
    source: bool  # answerable: the right article is the first source
    mode: str
    handoff: bool
    invented: tuple[str, ...]
    replaced: bool  # the final text does not begin with what was streamed
    unrelated: bool  # unanswerable: answered with an article's text
    length: int
    follow_up: bool


def check_items(items: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise EvaluationFileError(f"{where}: expected a non-empty JSON list")
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"].strip():
            raise EvaluationFileError(f"{where}: item {n} needs a 'question' string")
        if not item.get("handoff") and not (
            isinstance(item.get("facts"), list) and all(isinstance(f, str) for f in item["facts"])
        ):
            raise EvaluationFileError(f"{where}: item {n} needs 'facts' (a list of strings) or 'handoff': true")
        after = item.get("after", [])
        if not isinstance(after, list) or not all(isinstance(a, str) and a.strip() for a in after):
            raise EvaluationFileError(f"{where}: item {n}: 'after' must be a list of earlier messages")
    return items


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def contains(text: str, fact: str) -> bool:
    """Whether ``fact`` is in ``text``, case and spacing aside (and, failing that, punctuation)."""
    text, fact = _norm(text), _norm(fact)
    return fact in text or re.sub(r"\W", "", fact) in re.sub(r"\W", "", text)


def grade(item: dict[str, Any], reply: Reply, kb_numbers: set[str]) -> Grade:
    question_numbers = facts.numbers(" ".join([item["question"], *item.get("after", [])]))
    invented = tuple(n for n in sorted(facts.numbers(reply.text)) if n not in kb_numbers | question_numbers)
    replaced = bool(reply.streamed) and not _norm(reply.text).startswith(_norm(reply.streamed))
    if item.get("handoff"):
        ok = reply.handoff or reply.mode == "declined"
        kind, near, source, unrelated = "unanswerable", ok, False, reply.mode in ANSWERED
    else:
        top = reply.sources[0].get("title") if reply.sources else None
        kind, unrelated = "answerable", False
        ok = all(contains(reply.text, f) for f in item["facts"])
        near = all(contains(reply.text[:NEAR_CHARS], f) for f in item["facts"])
        source = top == item.get("source")
    return Grade(
        kind=kind,
        ok=ok,
        near=near,
        source=source,
        mode=reply.mode,
        handoff=reply.handoff,
        invented=invented,
        replaced=replaced,
        unrelated=unrelated,
        length=len(reply.text),
        follow_up=bool(item.get("after")),
    )


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else "n/a"


def report(grades: Sequence[Grade]) -> list[tuple[str, str]]:
    """The report's lines: (label, figure)."""
    answerable = [g for g in grades if g.kind == "answerable"]
    unanswerable = [g for g in grades if g.kind == "unanswerable"]
    answered = [g for g in answerable if g.mode in ANSWERED]
    follow_ups = [g for g in answerable if g.follow_up]
    lengths = [g.length for g in answerable if g.mode in ANSWERED]
    lines = [
        ("answerable questions answered with the right facts", _pct(sum(g.ok for g in answerable), len(answerable))),
        (
            f"  ... with the right facts within {NEAR_CHARS} characters",
            _pct(sum(g.near for g in answerable), len(answerable)),
        ),
        ("  ... with the right article first", _pct(sum(g.source for g in answerable), len(answerable))),
        ("  ... follow-ups with the right facts", _pct(sum(g.ok for g in follow_ups), len(follow_ups))),
        (
            "  ... answered, and also handed to a person",
            _pct(sum(g.handoff and g.mode in ANSWERED for g in answerable), len(answerable)),
        ),
        (
            "  ... handed off without an answer",
            _pct(sum(g.mode not in ANSWERED for g in answerable), len(answerable)),
        ),
        (
            "answers written by the model (of those answered)",
            _pct(sum(g.mode == WRITTEN for g in answered), len(answered)),
        ),
        ("median answer length (characters)", f"{statistics.median(lengths):.0f}" if lengths else "n/a"),
        (
            "unanswerable questions handed off or declined",
            _pct(sum(g.ok for g in unanswerable), len(unanswerable)),
        ),
        (
            "  ... answered with an unrelated article",
            _pct(sum(g.unrelated for g in unanswerable), len(unanswerable)),
        ),
        ("invented numbers", str(sum(len(g.invented) for g in grades))),
        ("streamed replies replaced or shortened", str(sum(g.replaced for g in grades))),
    ]
    modes = Counter(g.mode for g in answerable)
    lines.append(
        ("how answerable questions were answered", ", ".join(f"{m or '?'} {n}" for m, n in modes.most_common()))
    )
    return lines
