"""What each retrieval step buys, on a knowledge base and its evaluation questions.

    DATA_DIR=var/bench .venv/bin/python bench/retrieval.py [KB.json EVAL.json]

(default: the demo base). For each configuration: how often the right article comes first,
the right passage (the one holding the expected facts) comes first, and the evidence an answer
is built from holds the facts; then the confidence of answerable and unanswerable questions,
and what each threshold would answer and hand off. Follow-ups (``after``) are searched the way
the bot searches them.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from generation.answering import evidence  # noqa: E402
from generation.answering.followup import retrieval_query  # noqa: E402
from generation.answering.prompt import Turn  # noqa: E402
from generation.knowledge import articles, formats  # noqa: E402
from generation.knowledge.index import Weights, confidence, get_index  # noqa: E402


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def holds(facts: list[str], text: str) -> bool:
    text = _norm(text)
    squeezed = re.sub(r"\W", "", text)
    return all(_norm(f) in text or re.sub(r"\W", "", _norm(f)) in squeezed for f in facts)


def query_of(item: dict, index: object, spelling: bool) -> str:
    history = [Turn("customer", a) for a in item.get("after", [])[-1:]]
    if history:
        history.append(Turn("assistant", ""))
    history.append(Turn("customer", item["question"]))
    query, _ = retrieval_query(history)
    return index.speller.correct(query) if spelling else query  # type: ignore[attr-defined]


def main() -> None:
    kb_path = Path(sys.argv[1]) if len(sys.argv) > 2 else ROOT / "generation/data/demo_kb.json"
    eval_path = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "generation/data/demo_eval.json"
    call_command("migrate", verbosity=0)
    articles.kb_import(formats.parse_kb_path(kb_path), replace=True)
    items = json.loads(eval_path.read_text())
    answerable = [i for i in items if not i.get("handoff")]
    unanswerable = [i for i in items if i.get("handoff")]
    configs = [
        ("passage text only, no keywords", Weights(use_units=False, use_questions=False, keyword_weight=0.0), True),
        ("+ best sentence (half and half)", Weights(use_questions=False, keyword_weight=0.0), True),
        ("+ example questions", Weights(keyword_weight=0.0), True),
        ("+ BM25 0.1", Weights(keyword_weight=0.1), True),
        ("+ BM25 0.2", Weights(title_weight=0.0), True),
        ("+ article title 0.05 (default)", Weights(), True),
        ("default, typos left as typed", Weights(), False),
        ("best sentence alone (max)", Weights(unit_share=1.0), True),
    ]
    print(f"{kb_path.name}: {len(answerable)} answerable, {len(unanswerable)} unanswerable questions\n")
    print(f"{'configuration':<36}{'article':>9}{'passage':>9}{'evidence':>10}{'ms/query':>10}")
    for name, weights, spelling in configs:
        index = get_index(weights)
        started = time.perf_counter()
        article = passage = held = 0
        for item in answerable:
            query = query_of(item, index, spelling)
            vector = index.embedder.encode_query(query)
            hits = index.search(query, k=5, vector=vector)
            top = hits[0]
            article += top.title == item["source"]
            passage += top.title == item["source"] and holds(item["facts"], top.passage.text)
            held += holds(item["facts"], evidence.select(index, top, vector, query, hits[1:]).text)
        ms = (time.perf_counter() - started) * 1000 / len(answerable)
        n = len(answerable)
        print(f"{name:<36}{article / n:>9.1%}{passage / n:>9.1%}{held / n:>10.1%}{ms:>10.1f}")
    index = get_index()
    conf_a = sorted(confidence(index.search(query_of(i, index, True))) for i in answerable)
    conf_u = sorted(confidence(index.search(query_of(i, index, True))) for i in unanswerable)
    print("\nconfidence, answerable:  ", " ".join(f"{c:.2f}" for c in conf_a))
    print("confidence, unanswerable:", " ".join(f"{c:.2f}" for c in conf_u))
    for threshold in (0.55, 0.60, 0.65, 0.68, 0.70, 0.75, 0.85):
        kept = sum(c >= threshold for c in conf_a) / len(conf_a)
        refused = sum(c < threshold for c in conf_u) / max(1, len(conf_u))
        print(f"threshold {threshold:.2f}: answers {kept:.0%} of answerable, hands off {refused:.0%} of unanswerable")


if __name__ == "__main__":
    main()
