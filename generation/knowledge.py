"""Knowledge-base services: parse import files, import (one transaction), export, fingerprint.

Import files (``import_kb``):
- JSON: a list of ``{"title", "body", "tags", "questions"?}``
- CSV: a header with ``title``, ``body``, ``tags`` (and optionally ``questions``); tags split
  on ``,`` or ``;``, questions on ``|`` or new lines
- Markdown: one ``# Heading`` per article; an optional ``Tags: a, b`` line, optional
  ``Q: ...`` lines for example questions, the rest is the body
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from generation.models import Article

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ARTICLES = 5000
MAX_TITLE = 200
MAX_BODY = 20000
MAX_TAGS = 30
MAX_QUESTIONS = 50


class KBFormatError(ValueError):
    """The file cannot be imported; the message names the line or item."""


@dataclass(frozen=True)
class ArticleInput:
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    where: str = ""


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    removed: int


def parse_kb_file(path: Path) -> list[ArticleInput]:
    path = Path(path)
    if not path.exists():
        raise KBFormatError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise KBFormatError(f"{path}: {size} bytes is more than the {MAX_FILE_BYTES} bytes an import may have")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KBFormatError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        items = _parse_json(text)
    elif suffix == ".csv":
        items = _parse_csv(text)
    elif suffix in (".md", ".markdown"):
        items = _parse_markdown(text)
    else:
        raise KBFormatError(f"{path}: unknown format {suffix!r}; use .json, .csv or .md")
    return check_articles(items)


def check_articles(items: list[ArticleInput]) -> list[ArticleInput]:
    if not items:
        raise KBFormatError("the file holds no articles")
    if len(items) > MAX_ARTICLES:
        raise KBFormatError(f"{len(items)} articles is more than the {MAX_ARTICLES} an import may have")
    seen: dict[str, str] = {}
    for item in items:
        if not item.title:
            raise KBFormatError(f"{item.where}: the title is empty")
        if len(item.title) > MAX_TITLE:
            raise KBFormatError(f"{item.where}: the title is longer than {MAX_TITLE} characters")
        if not item.body:
            raise KBFormatError(f"{item.where}: article {item.title!r} has an empty body")
        if len(item.body) > MAX_BODY:
            raise KBFormatError(f"{item.where}: article {item.title!r} is longer than {MAX_BODY} characters")
        if len(item.tags) > MAX_TAGS or len(item.questions) > MAX_QUESTIONS:
            raise KBFormatError(f"{item.where}: too many tags or questions in {item.title!r}")
        key = item.title.casefold()
        if key in seen:
            raise KBFormatError(f"{item.where}: the title {item.title!r} is also used at {seen[key]}")
        seen[key] = item.where
    return items


def _clean(value: str) -> str:
    return value.replace("\x00", "").strip()


def _string_list(value: Any, where: str, name: str, separators: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        parts = re.split(f"[{re.escape(separators)}]", value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        parts = value
    else:
        raise KBFormatError(f"{where}: {name!r} must be a list of strings or a string")
    return [_clean(p) for p in parts if _clean(p)]


def _parse_json(text: str) -> list[ArticleInput]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KBFormatError(f"line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise KBFormatError('the JSON must be a list of {"title", "body", "tags"} objects')
    items = []
    for index, raw in enumerate(data, start=1):
        where = f"item {index}"
        if not isinstance(raw, dict):
            raise KBFormatError(f"{where}: must be an object with title, body and tags")
        unknown = set(raw) - {"title", "body", "tags", "questions"}
        if unknown:
            raise KBFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        title, body = raw.get("title"), raw.get("body")
        if not isinstance(title, str) or not isinstance(body, str):
            raise KBFormatError(f"{where}: 'title' and 'body' must be strings")
        items.append(
            ArticleInput(
                title=_clean(title),
                body=_clean(body),
                tags=_string_list(raw.get("tags"), where, "tags", ",;"),
                questions=_string_list(raw.get("questions"), where, "questions", "|\n"),
                where=where,
            )
        )
    return items


def _parse_csv(text: str) -> list[ArticleInput]:
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or []}
    missing = {"title", "body"} - columns
    if missing:
        raise KBFormatError(f"line 1: the header lacks the column(s) {', '.join(sorted(missing))}")
    items = []
    try:
        for row in reader:
            where = f"line {reader.line_num}"
            if None in row:
                raise KBFormatError(f"{where}: more fields than the header has")
            fields = {(k or "").strip().lower(): (v or "") for k, v in row.items()}
            items.append(
                ArticleInput(
                    title=_clean(fields.get("title", "")),
                    body=_clean(fields.get("body", "")),
                    tags=_string_list(fields.get("tags", ""), where, "tags", ",;"),
                    questions=_string_list(fields.get("questions", ""), where, "questions", "|\n"),
                    where=where,
                )
            )
    except csv.Error as exc:
        raise KBFormatError(f"line {reader.line_num}: {exc}") from None
    return items


def _parse_markdown(text: str) -> list[ArticleInput]:
    items: list[ArticleInput] = []
    current: dict[str, Any] | None = None

    def close() -> None:
        if current is not None:
            items.append(
                ArticleInput(
                    title=current["title"],
                    body=_clean("\n".join(current["body"])),
                    tags=current["tags"],
                    questions=current["questions"],
                    where=current["where"],
                )
            )

    for number, line in enumerate(text.splitlines(), start=1):
        heading = re.match(r"^#\s+(.*)$", line)
        if heading:
            close()
            current = {
                "title": _clean(heading.group(1)),
                "body": [],
                "tags": [],
                "questions": [],
                "where": f"line {number}",
            }
            continue
        if current is None:
            if line.strip():
                raise KBFormatError(f"line {number}: text before the first '# Title' heading")
            continue
        if re.match(r"^tags:", line, re.IGNORECASE) and not current["body"]:
            current["tags"] = _string_list(line.split(":", 1)[1], f"line {number}", "tags", ",;")
        elif re.match(r"^q:", line, re.IGNORECASE):
            question = _clean(line.split(":", 1)[1])
            if question:
                current["questions"].append(question)
        else:
            current["body"].append(line)
    close()
    return items


@transaction.atomic
def kb_import(items: list[ArticleInput], *, replace: bool = False) -> ImportResult:
    """Create or update articles by title (case-insensitively); ``replace`` deletes the rest.

    All or nothing: one transaction.
    """
    created = updated = unchanged = 0
    existing = {a.title.casefold(): a for a in Article.objects.select_for_update()}
    for item in items:
        article = existing.get(item.title.casefold())
        questions = "\n".join(item.questions)
        if article is None:
            Article.objects.create(title=item.title, body=item.body, tags=item.tags, questions=questions)
            created += 1
            continue
        if (article.title, article.body, article.tags, article.questions, article.active) == (
            item.title,
            item.body,
            item.tags,
            questions,
            True,
        ):
            unchanged += 1
            continue
        article.title, article.body, article.tags, article.questions, article.active = (
            item.title,
            item.body,
            item.tags,
            questions,
            True,
        )
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
        {"title": a.title, "body": a.body, "tags": a.tags, "questions": a.question_list()}
        for a in Article.objects.filter(active=True).order_by("title")
    ]


def kb_fingerprint() -> str:
    """Changes whenever an active article's content changes (retraining is then due)."""
    digest = hashlib.sha256()
    for row in Article.objects.filter(active=True).order_by("pk").values_list("title", "body", "questions"):
        digest.update(json.dumps(row).encode())
    return digest.hexdigest()
