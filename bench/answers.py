"""What the quoting policy answers on a knowledge base, item by item, with no model trained.

    DATA_DIR=var/bench .venv/bin/python bench/answers.py [KB.json EVAL.json] [--json OUT] [--typos SEED]

(default: the demo base). Imports the base, then for each question of the evaluation set (its
earlier messages first, for a follow-up, each answered as the product answers it) runs the
answering policy with no engine, which quotes the evidence: counts the answerable questions
whose right article comes first, whose first passage holds the expected facts, whose evidence
holds them and whose answer does (and does within its first 400 characters, as
``evaluate_responder`` counts it), the median length of the answers given, and the unanswerable
questions that got an answer instead of a handoff. ``--json`` writes each item:
the query searched, its confidence, the first article, the evidence and the reply. The policy's
choices (evidence, follow-ups, handoffs) move these figures before any training.

``--typos SEED`` asks each question with two typos in it, as customers type: in two words of
five letters or more (chosen at random, seeded), a letter dropped, doubled, swapped with the
next or a vowel changed. The same seed gives the same questions, run after run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.retrieval import holds  # noqa: E402
from generation.answering import evidence  # noqa: E402
from generation.answering.policy import Responder  # noqa: E402
from generation.answering.prompt import Turn  # noqa: E402
from generation.knowledge import articles, formats  # noqa: E402
from generation.knowledge.index import get_index  # noqa: E402
from generation.responder.evaluation import NEAR_CHARS  # noqa: E402

_LONG_WORD = re.compile(r"[A-Za-z]{5,}")
_VOWELS = "aeiou"


def typo(word: str, rng: random.Random) -> str:
    """``word`` with one slip: a letter dropped, doubled, swapped with the next, or a vowel
    changed (never the first letter)."""
    i = rng.randrange(1, len(word) - 1)
    slip = rng.choice(["drop", "double", "swap", "vowel"])
    vowels = [j for j, c in enumerate(word) if j and c in _VOWELS]
    if slip == "vowel" and vowels:
        j = rng.choice(vowels)
        return word[:j] + rng.choice([v for v in _VOWELS if v != word[j]]) + word[j + 1 :]
    if slip == "double":
        return word[:i] + word[i] + word[i:]
    if slip == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def with_typos(question: str, rng: random.Random, count: int = 2) -> str:
    """``question`` with a slip (``typo``) in ``count`` of its words of five letters or more."""
    words = list(_LONG_WORD.finditer(question))
    for match in sorted(rng.sample(words, min(count, len(words))), key=lambda m: -m.start()):
        question = question[: match.start()] + typo(match.group(), rng) + question[match.end() :]
    return question


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kb", nargs="?", default=str(ROOT / "generation/data/demo_kb.json"))
    parser.add_argument("eval", nargs="?", default=str(ROOT / "generation/data/demo_eval.json"))
    parser.add_argument("--json", dest="json_out", help="write every item's outcome to this file")
    parser.add_argument("--typos", type=int, metavar="SEED", help="ask each question with two typos (seeded)")
    args = parser.parse_args()
    rng = random.Random(args.typos)
    call_command("migrate", verbosity=0)
    articles.kb_import(formats.parse_kb_path(Path(args.kb)), replace=True)
    index = get_index()
    responder = Responder(
        index=index,
        engine=None,
        company=settings.COMPANY_NAME,
        min_confidence=settings.RETRIEVAL_MIN_CONFIDENCE,
        sure_confidence=settings.RETRIEVAL_SURE_CONFIDENCE,
    )
    rows: list[dict[str, Any]] = []
    for item in json.loads(Path(args.eval).read_text()):
        history: list[Turn] = []
        for earlier in item.get("after", []):
            # The earlier messages are answered as the product answers them: a follow-up leans
            # on what the bot said before.
            history.append(Turn("customer", earlier))
            history.append(Turn("assistant", responder.answer(history).text))
        question = item["question"] if args.typos is None else with_typos(item["question"], rng)
        history.append(Turn("customer", question))
        query, vector, hits, conf = responder.search(history)
        answer = responder.answer(history)
        found = evidence.select(index, hits[0], vector, query, hits[1:]) if hits else None
        facts = item.get("facts", [])
        answerable = not item.get("handoff")
        rows.append(
            {
                "question": question,
                "answerable": answerable,
                "query": query,
                "confidence": round(conf, 3),
                "first_article": hits[0].title if hits else None,
                "article": answerable and bool(hits) and hits[0].title == item.get("source"),
                "passage": answerable and bool(hits) and holds(facts, hits[0].passage.text),
                "evidence": answerable and found is not None and holds(facts, found.text),
                "answer": answerable and answer.mode != "handoff" and holds(facts, answer.text),
                "near": answerable and answer.mode != "handoff" and holds(facts, answer.text[:NEAR_CHARS]),
                "answered": answer.mode != "handoff",
                "mode": answer.mode,
                "evidence_text": found.text if found else None,
                "reply": answer.text,
            }
        )
    answerable_rows = [r for r in rows if r["answerable"]]
    n = len(answerable_rows)
    print(f"{Path(args.kb).name}: {n} answerable, {len(rows) - n} unanswerable questions")
    for key in ("article", "passage", "evidence", "answer"):
        print(f"  right {key:<9} {sum(r[key] for r in answerable_rows):>3}/{n}")
    print(f"  right answer within {NEAR_CHARS} characters: {sum(r['near'] for r in answerable_rows)}/{n}")
    lengths = [len(r["reply"]) for r in answerable_rows if r["answered"]]
    print(f"  median answer length (characters): {statistics.median(lengths) if lengths else 0:.0f}")
    unanswerable = [r for r in rows if not r["answerable"]]
    print(
        f"  unanswerable questions answered (not handed off): {sum(r['answered'] for r in unanswerable)}/{len(unanswerable)}"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
