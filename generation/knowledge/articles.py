"""Knowledge-base services: import articles (one transaction), export them, fingerprint them.

Parsing and checking import files is generation/knowledge/formats.py; this module writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from generation.knowledge.formats import ArticleInput
from generation.models import Article


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    removed: int


@transaction.atomic
def kb_import(items: list[ArticleInput], *, replace: bool = False) -> ImportResult:
    """Create or update articles by title (case-insensitively); ``replace`` deletes the rest.

    All or nothing: one transaction.
    """
    created = updated = unchanged = 0
    existing = {a.title.casefold(): a for a in Article.objects.select_for_update()}
    for item in items:
        article = existing.get(item.title.casefold())
        fields = {
            "title": item.title,
            "body": item.body,
            "tags": item.tags,
            "questions": "\n".join(item.questions),
            "url": item.url,
            "active": True,
        }
        if article is None:
            Article.objects.create(**fields)
            created += 1
            continue
        if all(getattr(article, name) == value for name, value in fields.items()):
            unchanged += 1
            continue
        for name, value in fields.items():
            setattr(article, name, value)
        article.save()
        updated += 1
    removed = 0
    if replace:
        keep = {item.title.casefold() for item in items}
        gone = [a.pk for key, a in existing.items() if key not in keep]
        removed, _ = Article.objects.filter(pk__in=gone).delete()
    return ImportResult(created=created, updated=updated, unchanged=unchanged, removed=removed)


def kb_export() -> list[dict[str, Any]]:
    return [
        {"title": a.title, "body": a.body, "tags": a.tags, "questions": a.question_list(), "url": a.url}
        for a in Article.objects.filter(active=True).order_by("title")
    ]


def kb_fingerprint() -> str:
    """Changes whenever an active article's content changes (retraining is then due)."""
    digest = hashlib.sha256()
    for row in Article.objects.filter(active=True).order_by("pk").values_list("title", "body", "questions"):
        digest.update(json.dumps(row).encode())
    return digest.hexdigest()
