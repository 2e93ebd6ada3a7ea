"""``python manage.py purge_conversations --older-than DAYS``: delete idle conversations."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conversations import services


class Command(BaseCommand):
    help = "Delete conversations whose last activity is older than DAYS days (recorded in the audit log)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Only count them.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days < 1:
            raise CommandError("--older-than must be at least 1 day")
        if options["dry_run"]:
            count = services.conversations_to_purge(older_than_days=days).count()
            self.stdout.write(f"{count} conversations are older than {days} days (nothing deleted)")
            return
        count = services.conversations_purge(older_than_days=days, actor="manage.py purge_conversations")
        self.stdout.write(self.style.SUCCESS(f"deleted {count} conversations older than {days} days"))
