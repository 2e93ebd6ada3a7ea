"""``python manage.py export_kb [FILE]``: the active articles as import-ready JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from generation.knowledge import articles as knowledge


class Command(BaseCommand):
    help = "Export the active knowledge-base articles as JSON (the import format)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="Output file (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        text = json.dumps(knowledge.kb_export(), indent=1, ensure_ascii=False)
        if options["file"]:
            with open(options["file"], "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        else:
            sys.stdout.write(text + "\n")
