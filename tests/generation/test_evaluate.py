"""``evaluate_responder``: grading against the demo base, and clear errors for bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from generation import knowledge

pytestmark = pytest.mark.django_db
DEMO_KB = Path(__file__).resolve().parents[2] / "generation/data/demo_kb.json"


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("evaluate_responder", str(path), stdout=out)
    return out.getvalue()


def test_grades_facts_sources_handoffs_and_invented_numbers(tmp_path: Path, settings: object) -> None:
    knowledge.kb_import(knowledge.parse_kb_file(DEMO_KB), replace=True)
    items = [
        {"question": "How much does express shipping cost?", "source": "Shipping costs", "facts": ["$19.95"]},
        # A fact the base does not contain can never be answered: graded as a miss.
        {"question": "How much does express shipping cost?", "source": "Shipping costs", "facts": ["$99.99"]},
        {"question": "What is the salary of your CEO?", "handoff": True},
    ]
    path = tmp_path / "eval.json"
    path.write_text(json.dumps(items))
    settings.DATA_DIR = tmp_path  # type: ignore[attr-defined]  # no responder here: answers quote the base
    out = run(path)
    assert "answered with the right facts:" in out and "1/2 (50%)" in out
    assert "with the right source first:                  2/2 (100%)" in out
    assert "unanswerable questions handed off or declined:      1/1 (100%)" in out
    assert "invented numbers:                                   0" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[", "Expecting value"),
        ("[]", "non-empty JSON list"),
        ('[{"facts": []}]', "item 1 needs a 'question'"),
        ('[{"question": "hi"}]', "item 1 needs 'facts'"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "eval.json"
    path.write_text(content)
    with pytest.raises(CommandError, match=message):
        run(path)
