"""``python manage.py train_responder``: build or refresh the offline responder."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from transformers import AutoConfig

from generation import dialogues, knowledge, offline, runtime
from generation.models import TrainingState


class Command(BaseCommand):
    help = "Train the offline GPT-2 responder from the knowledge base and approved transcripts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--steps", type=int, default=None, help="Training steps (default: by size).")
        parser.add_argument("--out", default=None, help="Where to save (default: DATA_DIR/models/responder).")
        parser.add_argument("--quick", action="store_true", help="A tiny model in seconds (for trying things out).")
        parser.add_argument("--if-missing", action="store_true", help="Do nothing when a responder exists.")
        parser.add_argument("--seed", type=int, default=1234)
        parser.add_argument("--smalltalk-only", action="store_true", help="Train without a knowledge base.")
        parser.add_argument(
            "--base", default=None, help="Fine-tune this local causal LM (a from_pretrained path) instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"]) if options["out"] else runtime.responder_path()
        if options["if_missing"] and offline.is_ready(out):
            self.stdout.write(f"responder already built at {out}")
            return
        steps = options["steps"]
        if steps is not None and steps < 1:
            raise CommandError("--steps must be at least 1")
        articles = knowledge.kb_export()
        if not articles and not options["smalltalk_only"]:
            raise CommandError(
                "the knowledge base is empty: import articles first "
                "(python manage.py import_kb FILE), or pass --smalltalk-only"
            )
        approved = dialogues.approved_examples(settings.COMPANY_NAME, articles)
        examples = (
            dialogues.kb_examples(articles, settings.COMPANY_NAME)
            + dialogues.smalltalk_examples(settings.COMPANY_NAME)
            + approved * 3  # real answers staff vouched for weigh more
        )
        fingerprint = knowledge.kb_fingerprint()
        if options["base"]:
            base = options["base"]
            try:
                AutoConfig.from_pretrained(base)
            except (OSError, ValueError) as exc:
                raise CommandError(f"--base {base}: not a loadable model ({exc})") from None
            steps = steps or 200
            self.stdout.write(f"fine-tuning {base} on {len(examples)} dialogues for {steps} steps")
            started = time.monotonic()
            path = offline.finetune_model(
                out, examples, base, steps=steps, seed=options["seed"], progress=self._progress(started)
            )
            sys.stdout.write("\n")
            self._record(fingerprint, len(articles))
            self.stdout.write(self.style.SUCCESS(f"responder saved to {path} in {time.monotonic() - started:.0f}s"))
            return
        if options["quick"]:
            spec = offline.ModelSpec(
                n_layer=2, n_embd=96, n_head=2, vocab_size=1500, steps=steps or 200, seed=options["seed"]
            )
        else:
            spec = offline.ModelSpec(steps=steps or 600, seed=options["seed"])
        self.stdout.write(
            f"training a {spec.n_layer}-layer, {spec.n_embd}-wide GPT-2 on {len(examples)} dialogues "
            f"from {len(articles)} articles and {len(approved)} approved answers "
            f"for {spec.steps} steps"
        )
        started = time.monotonic()
        path = offline.build_model(out, examples, spec, progress=self._progress(started))
        sys.stdout.write("\n")
        self._record(fingerprint, len(articles))
        self.stdout.write(self.style.SUCCESS(f"responder saved to {path} in {time.monotonic() - started:.0f}s"))

    def _record(self, fingerprint: str, articles: int) -> None:
        TrainingState.objects.update_or_create(
            pk=1, defaults={"trained_at": timezone.now(), "kb_fingerprint": fingerprint, "articles": articles}
        )

    def _progress(self, started: float) -> offline.Progress:
        width = 30

        def show(step: int, total: int, loss: float) -> None:
            if step != total and step % max(1, total // 100):
                return
            done = int(width * step / total)
            elapsed = time.monotonic() - started
            eta = elapsed / step * (total - step)
            bar = "#" * done + "-" * (width - done)
            self.stdout.write(f"\r[{bar}] {step}/{total} loss {loss:.3f} eta {eta:4.0f}s", ending="")
            self.stdout.flush()

        return show
