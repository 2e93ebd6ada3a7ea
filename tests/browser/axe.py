"""axe-core audits in Chromium: the npm package from the project's own node_modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def axe_violations(page: Any, *, include: str | None = None) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on ``page`` (WCAG 2.1 A/AA and best practice).

    The widget lives in a shadow root; axe-core walks open shadow roots itself. ``include``
    limits the audit to one CSS selector. Without node_modules the audit skips visibly, or
    fails where PARLEY_REQUIRE_BROWSER=1 (CI).
    """
    if not AXE.exists():
        reason = f"axe-core not installed at {AXE} (make install runs npm ci)"
        if os.environ.get("PARLEY_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(f"ACCESSIBILITY AUDIT SKIPPED: {reason}")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        """async (include) => {
            const context = include ? {include: [include]} : document;
            const r = await axe.run(context, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary}))}));
        }""",
        include,
    )
    return [v for v in result if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and node, for an assertion message a person can act on."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            lines.append(f"{v['impact']} {v['id']} at {node['target']}: {node['summary']}")
    return "\n".join(lines)
