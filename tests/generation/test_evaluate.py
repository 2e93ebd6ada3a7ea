"""``evaluate_responder``: grading against the demo base, and clear errors for bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation.knowledge import articles, formats

pytestmark = pytest.mark.django_db
DEMO_KB = Path(__file__).resolve().parents[2] / "generation/data/demo_kb.json"


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("evaluate_responder", str(path), stdout=out)
    return out.getvalue()


def test_grades_facts_sources_handoffs_and_invented_numbers(tmp_path: Path, settings: object) -> None:
    articles.kb_import(formats.parse_kb_path(DEMO_KB), replace=True)
    items = [
        {"question": "How much does express shipping cost?", "source": "Shipping costs", "facts": ["$19.95"]},
        # A fact the base does not contain can never be answered: graded as a miss.
        {"question": "How much does express shipping cost?", "source": "Shipping costs", "facts": ["$99.99"]},
        {"question": "What is the salary of your CEO?", "handoff": True},
        # A follow-up: asked after its earlier message, in the same conversation.
        {
            "question": "and how fast is it?",
            "after": ["Tell me about express shipping"],
            "source": "Shipping times",
            "facts": ["1 to 2 business days"],
        },
    ]
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(items))
    settings.DATA_DIR = tmp_path  # type: ignore[attr-defined]  # no responder here: answers quote the base
    out = run(path)
    lines = dict(line.rsplit(":", 1) for line in out.splitlines() if ":" in line and not line.startswith("time"))
    assert lines["answerable questions answered with the right facts"].strip() == "2/3 (67%)"
    assert lines["  ... with the right article first"].strip() == "3/3 (100%)"
    assert lines["  ... follow-ups with the right facts"].strip() == "1/1 (100%)"
    assert lines["unanswerable questions handed off or declined"].strip() == "1/1 (100%)"
    assert lines["  ... answered with an unrelated article"].strip() == "0/1 (0%)"
    assert lines["invented numbers"].strip() == "0"
    assert lines["streamed replies replaced or shortened"].strip() == "0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[", "Expecting value"),
        ("[]", "non-empty JSON list"),
        ('[{"facts": []}]', "item 1 needs a 'question'"),
        ('[{"question": "hi"}]', "item 1 needs 'facts'"),
        ('[{"question": "hi", "handoff": true, "after": "x"}]', "'after' must be a list"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "eval.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run(path)
