"""``python manage.py import_kb FILE [--replace]``: JSON, CSV or Markdown; updates by title."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation import knowledge
from generation.models import Article


class Command(BaseCommand):
    help = "Import knowledge-base articles (JSON, CSV or Markdown), updating by title."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="A .json, .csv or .md file")
        parser.add_argument("--replace", action="store_true", help="Delete articles the file lacks.")
        parser.add_argument("--if-empty", action="store_true", help="Only import into an empty base.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Article.objects.exists():
            self.stdout.write("knowledge base already has articles; nothing imported")
            return
        try:
            items = knowledge.parse_kb_file(Path(options["file"]))
        except knowledge.KBFormatError as exc:
            raise CommandError(f"{options['file']}: {exc}") from None
        result = knowledge.kb_import(items, replace=options["replace"])
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {len(items)} articles: {result.created} new, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.removed} removed"
            )
        )
        self.stdout.write("Run `python manage.py train_responder` so the offline responder learns the changes.")
