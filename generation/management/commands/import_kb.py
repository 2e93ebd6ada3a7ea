"""``python manage.py import_kb PATH [--replace] [--base-url URL]``: updates by title.

PATH is a JSON, CSV, Markdown or HTML file, a folder of such files, or a ``.zip`` of them
(generation/knowledge/formats.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from generation.knowledge import articles, formats
from generation.models import Article


class Command(BaseCommand):
    help = "Import knowledge-base articles (JSON, CSV, Markdown, HTML pages, a folder or a .zip), updating by title."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A .json, .csv, .md or .html file, a folder of them, or a .zip")
        parser.add_argument("--replace", action="store_true", help="Delete articles the import lacks.")
        parser.add_argument("--if-empty", action="store_true", help="Only import into an empty base.")
        parser.add_argument(
            "--base-url",
            default="",
            help="The help centre's address: pages without a canonical URL get it joined with their file path.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Article.objects.exists():
            self.stdout.write("knowledge base already has articles; nothing imported")
            return
        base_url = options["base_url"]
        if base_url and not base_url.startswith(("http://", "https://")):
            raise CommandError(f"--base-url {base_url!r}: must be an http(s) address")
        try:
            items = formats.parse_kb_path(Path(options["path"]), base_url=base_url)
        except formats.KBFormatError as exc:
            raise CommandError(f"{options['path']}: {exc}") from None
        result = articles.kb_import(items, replace=options["replace"])
        self.stdout.write(
            self.style.SUCCESS(
                f"imported {len(items)} articles: {result.created} new, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.removed} removed"
            )
        )
        self.stdout.write("Run `python manage.py train_responder` so the offline responder learns the changes.")
