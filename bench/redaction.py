"""Redaction precision and recall on a labelled set (bench/data/redaction_labelled.json).

Each item is a customer's text, the personal data in it (``pii``: kind and exact text), and
optionally the ``region`` a deployment there would set as ``PHONE_REGION`` (default US).
Items without ``pii`` hold what must survive: dates, times, order and invoice numbers, prices,
ZIP codes, product codes.

A finding is right when it overlaps a labelled span of the same kind; a labelled span is found
when findings of its kind cover it. Precision = right findings / findings; recall = labelled
spans found / labelled spans.

    .venv/bin/python bench/redaction.py [--data FILE] [--show-errors]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

import django  # noqa: E402

django.setup()

from conversations.redaction import find_personal_data, redact  # noqa: E402


def spans(text: str, pii: list[dict[str, str]]) -> list[tuple[int, int, str]]:
    found, cursor = [], 0
    for item in pii:
        start = text.index(item["text"], cursor if text.find(item["text"], cursor) >= 0 else 0)
        found.append((start, start + len(item["text"]), item["kind"]))
        cursor = start + len(item["text"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / "bench" / "data" / "redaction_labelled.json"))
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    items = json.loads(Path(args.data).read_text())
    predicted = right = labelled = recalled = 0
    by_kind: Counter[str] = Counter()
    missed_by_kind: Counter[str] = Counter()
    errors = []
    started = time.perf_counter()
    for item in items:
        text, region = item["text"], item.get("region", "US")
        gold = spans(text, item["pii"])
        findings = find_personal_data(text, region)
        predicted += len(findings)
        for f in findings:
            if any(f.start < end and start < f.end and f.kind == kind for start, end, kind in gold):
                right += 1
            else:
                errors.append(f"false positive {f.kind}: {text[f.start : f.end]!r} in {text!r}")
        for start, end, kind in gold:
            labelled += 1
            by_kind[kind] += 1
            covered: set[int] = set()
            for f in findings:
                if f.kind == kind:
                    covered.update(range(max(start, f.start), min(end, f.end)))
            if len(covered) == end - start:
                recalled += 1
            else:
                missed_by_kind[kind] += 1
                errors.append(f"missed {kind}: {text[start:end]!r} in {text!r} -> {redact(text, region)!r}")
    elapsed = time.perf_counter() - started
    precision = right / predicted if predicted else 1.0
    recall = recalled / labelled if labelled else 1.0
    kept = sum(1 for item in items if not item["pii"])
    print(f"{len(items)} texts: {labelled} labelled spans of personal data, {kept} texts that must survive")
    print(f"precision {precision:.3f} ({right}/{predicted})   recall {recall:.3f} ({recalled}/{labelled})")
    for kind in sorted(by_kind):
        print(f"  {kind:6s} recall {1 - missed_by_kind[kind] / by_kind[kind]:.3f} ({by_kind[kind]} spans)")
    print(f"{elapsed / len(items) * 1000:.2f} ms a text (first pass, uncached)")
    if args.show_errors or errors:
        for error in errors:
            print("  " + error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
