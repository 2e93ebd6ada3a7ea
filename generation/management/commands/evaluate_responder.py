"""``python manage.py evaluate_responder FILE``: questions with expected facts; prints accuracy.

FILE is a JSON list of ``{"question", "facts": [...], "source"}`` (answerable) and
``{"question", "handoff": true}`` (must be handed off or declined). By default it runs the
worker's own answering code in this process; ``--url`` sends every question through a running
Parley's real websocket instead.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from websockets.sync.client import connect
from websockets.typing import Origin

from generation import facts, knowledge
from generation.answering import HANDOFF_RECORD, HANDOFF_REQUESTED, HANDOFF_UNKNOWN, responder_for_worker
from generation.prompt import Turn


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _mode_from_text(text: str) -> str:
    """How a reply seen over the websocket was made (the final message carries no mode)."""
    if text.startswith((HANDOFF_UNKNOWN, HANDOFF_REQUESTED, HANDOFF_RECORD)):
        return "handoff"
    return "quote" if text.startswith("From our help article") else "model"


class Command(BaseCommand):
    help = "Evaluate the responder on questions with expected facts and handoffs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--url", help="Ask through a running Parley's websocket (e.g. http://127.0.0.1:8000)")
        parser.add_argument("--show", action="store_true", help="Print every question and answer.")

    def handle(self, *args: Any, **options: Any) -> None:
        items = self._load(Path(options["file"]))
        ask = self._ask_websocket(options["url"]) if options["url"] else self._ask_local()
        kb_text = " ".join(a["title"] + " " + a["body"] for a in knowledge.kb_export())
        kb_numbers = facts.numbers(kb_text)
        rows = []
        started = time.monotonic()
        for item in items:
            answer = ask(item["question"])
            rows.append(self._grade(item, answer, kb_numbers))
            if options["show"]:
                r = rows[-1]
                mark = "ok " if r["ok"] else "BAD"
                self.stdout.write(f"{mark} {item['question'][:60]!r} -> {answer['text'][:140]!r}")
        self._report(rows, time.monotonic() - started)

    def _load(self, path: Path) -> list[dict[str, Any]]:
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        if not isinstance(items, list) or not items:
            raise CommandError(f"{path}: expected a non-empty JSON list")
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise CommandError(f"{path}: item {n} needs a 'question' string")
            if not item.get("handoff") and not isinstance(item.get("facts"), list):
                raise CommandError(f"{path}: item {n} needs 'facts' (a list) or 'handoff': true")
        return items

    def _ask_local(self) -> Any:
        responder = responder_for_worker()
        mode = "the offline responder" if responder.engine is not None else "quotes (no responder built yet)"
        self.stdout.write(f"answering in-process with {mode}")

        def ask(question: str) -> dict[str, Any]:
            answer = responder.answer([Turn("customer", question)])
            return {
                "text": answer.text,
                "sources": answer.sources,
                "handoff": answer.handoff,
                "mode": answer.mode,
            }

        return ask

    def _ask_websocket(self, url: str) -> Any:
        url = url.rstrip("/")
        self.stdout.write(f"asking through the websocket of {url}")

        def ask(question: str) -> dict[str, Any]:
            request = urllib.request.Request(url + "/api/conversations/", data=b"{}", method="POST")
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    conv = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 429:
                    raise CommandError(
                        "the server rate-limited the evaluation: start it with "
                        "RATE_LIMIT_CONVERSATIONS_PER_ADDRESS=0 RATE_LIMIT_MESSAGES_PER_ADDRESS=0"
                    ) from None
                raise
            with connect(conv["ws_url"], origin=Origin(url), open_timeout=10) as ws:
                ws.send(json.dumps({"type": "message", "text": question, "client_id": str(uuid.uuid4())}))
                while True:
                    frame = json.loads(ws.recv(timeout=120))
                    if frame["type"] == "message" and frame["message"]["role"] == "assistant":
                        m = frame["message"]
                        declined = "can't share or change how i work" in m["text"].lower()  # the decline phrase
                        return {
                            "text": m["text"],
                            "sources": m["sources"],
                            "handoff": m["handoff"],
                            "mode": "declined" if declined else "",
                        }

        return ask

    def _grade(self, item: dict[str, Any], answer: dict[str, Any], kb_numbers: set[str]) -> dict[str, Any]:
        invented = [
            n for n in facts.numbers(answer["text"]) if n not in kb_numbers and n not in facts.numbers(item["question"])
        ]
        if item.get("handoff"):
            ok = bool(answer["handoff"]) or answer["mode"] == "declined"
            mode = answer["mode"] or _mode_from_text(answer["text"])
            return {"kind": "unanswerable", "ok": ok, "invented": invented, "mode": mode}
        text = _norm(answer["text"])
        has_facts = all(
            _norm(f) in text or re.sub(r"\W", "", _norm(f)) in re.sub(r"\W", "", text) for f in item["facts"]
        )
        top = answer["sources"][0]["title"] if answer["sources"] else ""
        return {
            "kind": "answerable",
            "ok": has_facts,
            "source": top == item.get("source"),
            "handoff": bool(answer["handoff"]),
            "invented": invented,
            "mode": answer["mode"] or _mode_from_text(answer["text"]),
        }

    def _report(self, rows: list[dict[str, Any]], seconds: float) -> None:
        answerable = [r for r in rows if r["kind"] == "answerable"]
        unanswerable = [r for r in rows if r["kind"] == "unanswerable"]
        invented = sum(len(r["invented"]) for r in rows)

        def pct(n: int, d: int) -> str:
            return f"{n}/{d} ({n / d:.0%})" if d else "n/a"

        lines = [
            (
                "answerable questions answered with the right facts",
                pct(sum(r["ok"] for r in answerable), len(answerable)),
            ),
            ("  ... with the right source first", pct(sum(r["source"] for r in answerable), len(answerable))),
            (
                "  ... answered, and also handed to a person",
                pct(sum(r["handoff"] and r["mode"] != "handoff" for r in answerable), len(answerable)),
            ),
            (
                "unanswerable questions handed off or declined",
                pct(sum(r["ok"] for r in unanswerable), len(unanswerable)),
            ),
            (
                "  ... of which answered tentatively",
                pct(sum(r["ok"] and r["mode"] in ("quote", "model") for r in unanswerable), len(unanswerable)),
            ),
            ("invented numbers", str(invented)),
        ]
        modes = Counter(r["mode"] for r in answerable)
        lines.append(
            ("how answerable questions were answered", ", ".join(f"{m or '?'} {n}" for m, n in modes.most_common()))
        )
        self.stdout.write("")
        for label, value in lines:
            self.stdout.write(f"{label + ':':<52}{value}")
        self.stdout.write(f"time: {seconds:.1f}s for {len(rows)} questions")
