"""``python manage.py train_responder``: build or refresh the offline responder.

The responder learns the skill of a support agent — restate the sentence of a passage that
answers the question, lead with Yes or No where that fits, say when the passage does not
answer — from the generated corpus (generation/responder/corpus.py), and the operator's words
from their own articles and approved answers (generation/responder/dialogues.py).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from conversations import selectors
from conversations.redaction import redact
from generation import model_store
from generation.answering.policy import Responder
from generation.answering.prompt import Turn
from generation.knowledge import articles
from generation.knowledge.index import get_index
from generation.knowledge.passages import outline
from generation.models import Article, TrainingState
from generation.responder import dialogues, training

# Questions made from each sentence of the operator's articles, and how much approved answers weigh.
QUESTIONS_PER_UNIT = 3
APPROVED_WEIGHT = 3


class Command(BaseCommand):
    help = "Train the offline responder on the generated corpus, the knowledge base and approved answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--steps", type=int, default=None, help="Training steps (default: 800).")
        parser.add_argument("--out", default=None, help="Where to save (default: DATA_DIR/models/responder).")
        parser.add_argument("--quick", action="store_true", help="A tiny model in seconds (for trying things out).")
        parser.add_argument("--if-missing", action="store_true", help="Do nothing when a responder exists.")
        parser.add_argument("--seed", type=int, default=1234)
        parser.add_argument(
            "--base", default=None, help="Fine-tune this local causal LM (a from_pretrained path) instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"]) if options["out"] else model_store.responder_path()
        if options["if_missing"] and model_store.is_ready(out):
            self.stdout.write(f"responder already built at {out}")
            return
        steps = options["steps"]
        if steps is not None and steps < 1:
            raise CommandError("--steps must be at least 1")
        if options["quick"]:
            spec = training.ModelSpec(
                n_layer=2, n_embd=64, n_head=1, vocab_size=1500, steps=steps or 150, seed=options["seed"]
            )
        else:
            spec = training.ModelSpec(steps=steps or training.ModelSpec.steps, seed=options["seed"])
        started = time.monotonic()
        fingerprint = articles.kb_fingerprint()
        examples, counts = self._examples(spec.steps * spec.batch_size, options["seed"])
        if options["base"]:
            self._finetune(options["base"], out, examples, steps=steps or 200, seed=options["seed"], started=started)
        else:
            self.stdout.write(
                f"training a {spec.n_layer}-layer, {spec.n_embd}-wide {spec.arch} on {len(examples)} dialogues "
                f"({counts}) for {spec.steps} steps"
            )
            path = training.build_model(out, examples, spec, progress=self._progress(started))
            sys.stdout.write("\n")
            self.stdout.write(self.style.SUCCESS(f"responder saved to {path} in {time.monotonic() - started:.0f}s"))
        TrainingState.objects.update_or_create(
            pk=1,
            defaults={
                "trained_at": timezone.now(),
                "kb_fingerprint": fingerprint,
                "articles": Article.objects.filter(active=True).count(),
            },
        )

    def _examples(self, corpus_size: int, seed: int) -> tuple[list[dialogues.Example], str]:
        """The generated corpus, the knowledge base's questions and the approved answers, mixed."""
        rows = list(Article.objects.filter(active=True).order_by("pk"))
        own = dialogues.article_examples([(a.title, outline(a.body)) for a in rows], per_unit=QUESTIONS_PER_UNIT)
        approved, skipped = self._approved()
        corpus = dialogues.corpus_examples(max(1, corpus_size - len(own) - len(approved) * APPROVED_WEIGHT), seed=seed)
        examples = corpus + own + approved * APPROVED_WEIGHT
        random.Random(seed).shuffle(examples)
        counts = (
            f"{len(corpus)} generated, {len(own)} from {len(rows)} articles, "
            f"{len(approved)} approved answers ({skipped} left out: not restating the knowledge base)"
        )
        return examples, counts

    def _approved(self) -> tuple[list[dialogues.Example], int]:
        """Staff-approved answers with the turns before them (personal data redacted), asked with
        the evidence that retrieval finds for them today."""
        if not Article.objects.filter(active=True).exists():
            return [], 0
        responder = Responder(
            index=get_index(),
            engine=None,
            company=settings.COMPANY_NAME,
            min_confidence=settings.RETRIEVAL_MIN_CONFIDENCE,
            sure_confidence=settings.RETRIEVAL_SURE_CONFIDENCE,
        )
        approved = [
            ([Turn(role, redact(text)) for role, text in turns], redact(answer))
            for turns, answer in selectors.approved_answers()
        ]

        def evidence_for(turns: Any) -> tuple[str, str, tuple[str, ...]] | None:
            found = responder.evidence(turns)
            return None if found is None else (found.hit.title, found.hit.passage.heading, found.texts)

        return dialogues.approved_examples(approved, evidence_for)

    def _finetune(
        self, base: str, out: Path, examples: list[dialogues.Example], *, steps: int, seed: int, started: float
    ) -> None:
        try:
            from transformers import AutoConfig  # noqa: PLC0415 - loads transformers only for --base

            AutoConfig.from_pretrained(base)
        except (OSError, ValueError) as exc:
            raise CommandError(f"--base {base}: not a loadable model ({exc})") from None
        self.stdout.write(f"fine-tuning {base} on {len(examples)} dialogues for {steps} steps")
        path = training.finetune_model(out, examples, base, steps=steps, seed=seed, progress=self._progress(started))
        sys.stdout.write("\n")
        self.stdout.write(self.style.SUCCESS(f"responder saved to {path} in {time.monotonic() - started:.0f}s"))

    def _progress(self, started: float) -> training.Progress:
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
