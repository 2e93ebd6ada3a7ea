"""What each retrieval step buys, on the demo knowledge base's held-out questions.

    DATA_DIR=var/bench .venv/bin/python bench/retrieval.py

Prints top-1 / top-2 accuracy on the answerable questions for: MiniLM cosine on the article
alone (baseline), + example questions, + BM25, and the confidence of answerable against
unanswerable questions (what the handoff threshold separates).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
os.environ.setdefault("DATA_DIR", str(ROOT / "var" / "bench"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from generation import knowledge, retrieval  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    knowledge.kb_import(knowledge.parse_kb_file(ROOT / "generation/data/demo_kb.json"), replace=True)
    items = json.loads((ROOT / "generation/data/demo_eval.json").read_text())
    answerable = [i for i in items if not i.get("handoff")]
    unanswerable = [i for i in items if i.get("handoff")]
    none = {"use_questions": False, "use_sentences": False}
    configs = [
        ("MiniLM on article text (baseline)", retrieval.Weights(**none, keyword_weight=0.0)),
        (
            "+ example questions",
            retrieval.Weights(use_questions=True, use_sentences=False, keyword_weight=0.0),
        ),
        ("+ body sentences", retrieval.Weights(use_questions=False, use_sentences=True, keyword_weight=0.0)),
        ("+ questions + sentences", retrieval.Weights(keyword_weight=0.0)),
        ("BM25 alone", retrieval.Weights(**none, keyword_weight=1.0)),
        ("article text + BM25", retrieval.Weights(**none)),
        ("questions + sentences + BM25 0.1 (default)", retrieval.Weights()),
        ("questions + sentences + BM25 0.2", retrieval.Weights(keyword_weight=0.2)),
        ("questions + sentences + BM25 0.35", retrieval.Weights(keyword_weight=0.35)),
    ]
    base = None
    print(f"{len(answerable)} answerable, {len(unanswerable)} unanswerable held-out questions\n")
    print(f"{'configuration':<42}{'top-1':>8}{'top-2':>8}{'x base':>8}{'ms/query':>10}")
    for name, weights in configs:
        index = retrieval.get_index(weights)
        started = time.perf_counter()
        top1 = top2 = 0
        for item in answerable:
            hits = index.search(item["question"], k=2)
            titles = [h.title for h in hits]
            top1 += titles[0] == item["source"]
            top2 += item["source"] in titles
        ms = (time.perf_counter() - started) * 1000 / len(answerable)
        acc1 = top1 / len(answerable)
        base = base or acc1
        print(f"{name:<42}{acc1:>8.1%}{top2 / len(answerable):>8.1%}{acc1 / base:>8.2f}{ms:>10.1f}")
    index = retrieval.get_index()
    conf_a = sorted(retrieval.confidence(index.search(i["question"])) for i in answerable)
    conf_u = sorted(retrieval.confidence(index.search(i["question"])) for i in unanswerable)
    print("\nconfidence, answerable:  ", " ".join(f"{c:.2f}" for c in conf_a))
    print("confidence, unanswerable:", " ".join(f"{c:.2f}" for c in conf_u))
    for threshold in (0.50, 0.55, 0.60, 0.65, 0.70, 0.75):
        kept = sum(c >= threshold for c in conf_a) / len(conf_a)
        refused = sum(c < threshold for c in conf_u) / len(conf_u)
        print(f"threshold {threshold:.2f}: answers {kept:.0%} of answerable, hands off {refused:.0%} of unanswerable")


if __name__ == "__main__":
    main()
