"""``python manage.py evaluate_responder FILE [--url URL]``: questions with expected facts;
prints how the bot did (generation/responder/evaluation.py has the file format and the report).

By default the worker's own answering code runs in this process; ``--url`` asks a running
Parley through its real websocket instead, one conversation per item (its ``after`` messages
first), and also sees what was streamed before each final message.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.answering import facts
from generation.knowledge import articles
from generation.responder import evaluation

Ask = Callable[[Sequence[str], str], evaluation.Reply]


class Command(BaseCommand):
    help = "Evaluate the responder on questions with expected facts and handoffs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--url", help="Ask through a running Parley's websocket (e.g. http://127.0.0.1:8000)")
        parser.add_argument("--show", action="store_true", help="Print every question and answer.")
        parser.add_argument("--json", dest="json_out", help="Also write every item's grade to this JSON file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            items = evaluation.check_items(json.loads(path.read_text(encoding="utf-8")), str(path))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        ask = self._ask_websocket(options["url"]) if options["url"] else self._ask_local()
        kb_text = " ".join(a["title"] + " " + a["body"] for a in articles.kb_export())
        kb_numbers = facts.numbers(kb_text)
        grades = []
        started = time.monotonic()
        for item in items:
            reply = ask(item.get("after", []), item["question"])
            grades.append(evaluation.grade(item, reply, kb_numbers))
            if options["show"]:
                mark = "ok " if grades[-1].ok else "BAD"
                self.stdout.write(f"{mark} [{reply.mode}] {item['question'][:70]!r}\n      -> {reply.text[:300]!r}")
        self.stdout.write("")
        for label, value in evaluation.report(grades):
            self.stdout.write(f"{label + ':':<56}{value}")
        self.stdout.write(f"time: {time.monotonic() - started:.1f}s for {len(items)} items")
        if options["json_out"]:
            rows = [{"question": i["question"], **g.__dict__} for i, g in zip(items, grades, strict=True)]
            Path(options["json_out"]).write_text(json.dumps(rows, indent=1))

    def _ask_local(self) -> Ask:
        from generation.answering.policy import responder_for_worker  # noqa: PLC0415 - loads the models
        from generation.answering.prompt import Turn  # noqa: PLC0415 - as above

        responder = responder_for_worker()
        mode = "the offline responder" if responder.engine is not None else "quotes (no responder built yet)"
        self.stdout.write(f"answering in-process with {mode}")

        def ask(earlier: Sequence[str], question: str) -> evaluation.Reply:
            history: list[Turn] = []
            for message in earlier:
                history.append(Turn("customer", message))
                history.append(Turn("assistant", responder.answer(history).text))
            history.append(Turn("customer", question))
            streamed: list[str] = []
            answer = responder.answer(history, forward=streamed.append)
            return evaluation.Reply(answer.text, answer.mode, answer.handoff, answer.sources, "".join(streamed))

        return ask

    def _ask_websocket(self, url: str) -> Ask:
        from websockets.sync.client import connect  # noqa: PLC0415 - only the --url mode needs it
        from websockets.typing import Origin  # noqa: PLC0415 - as above

        url = url.rstrip("/")
        self.stdout.write(f"asking through the websocket of {url}")

        def ask(earlier: Sequence[str], question: str) -> evaluation.Reply:
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
                reply: evaluation.Reply | None = None
                for text in [*earlier, question]:
                    ws.send(json.dumps({"type": "message", "text": text, "client_id": str(uuid.uuid4())}))
                    reply = self._await_reply(ws)
                assert reply is not None
                return reply

        return ask

    def _await_reply(self, ws: Any) -> evaluation.Reply:
        """Read frames until the bot's final message; collect the deltas streamed before it."""
        deltas: dict[str, list[str]] = {}
        reply_id = None
        while True:
            frame = json.loads(ws.recv(timeout=120))
            if frame["type"] == "ack":
                reply_id = frame.get("reply_id")
            elif frame["type"] == "delta":
                deltas.setdefault(frame["message_id"], []).append(frame["text"])
            elif frame["type"] == "message" and frame["message"]["role"] == "assistant":
                message = frame["message"]
                if reply_id is not None and message["id"] != reply_id:
                    continue
                return evaluation.Reply(
                    text=message["text"],
                    mode=message.get("mode", ""),
                    handoff=bool(message["handoff"]),
                    sources=message.get("sources") or [],
                    streamed="".join(deltas.get(message["id"], [])),
                )
