"""The README is a manual: every setting the code reads is in its table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_the_settings_read_is_documented() -> None:
    code = "\n".join(p.read_text() for p in (ROOT / "chatsite").glob("*.py"))
    names = set(re.findall(r"env_(?:str|int|float|bool|list|secret)\(\s*\"([A-Z0-9_]+)\"", code))
    names |= set(re.findall(r"os\.environ(?:\.get)?\(\s*\"([A-Z0-9_]+)\"", code)) - {"DJANGO_SETTINGS_MODULE"}
    assert len(names) > 20, "the settings read their variables through chatsite/envutil.py"
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"settings missing from the README's table: {missing}"


def test_the_settings_table_lists_no_variable_the_code_does_not_read() -> None:
    code = "\n".join(p.read_text() for p in [*(ROOT / "chatsite").glob("*.py"), ROOT / "Makefile"])
    rows = re.findall(r"^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)?", (ROOT / "README.md").read_text(), re.MULTILINE)
    listed = {name for row in rows for name in row if name}
    stale = sorted(name for name in listed if f'"{name}"' not in code and name not in code)
    assert not stale, f"the README lists settings nothing reads: {stale}"
