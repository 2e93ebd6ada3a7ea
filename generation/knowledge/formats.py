"""Knowledge-base import files, parsed and checked; nothing here writes.

``import_kb`` takes:
- JSON: a list of ``{"title", "body", "tags"?, "questions"?, "url"?}`` (a body in HTML, as help
  desks export it, is turned into text with its headings and lists);
- CSV: a header with ``title`` and ``body``, optionally ``tags``, ``questions`` and ``url``; tags
  split on ``,`` or ``;``, questions on ``|`` or new lines;
- Markdown: one ``# Title`` per article; optional ``Tags: a, b`` and ``URL: ...`` lines right
  after it and ``Q: ...`` lines for example questions; ``##`` headings stay in the body;
- an HTML page of a help centre (one article: generation/knowledge/html.py);
- a folder, or a ``.zip``, of ``.md``/``.markdown``/``.txt``/``.html``/``.htm`` files, one
  article each (a Markdown file's title is its ``# `` heading, or ``title:`` in its front
  matter, else its file name), and ``.json``/``.csv`` files as above.
Every problem is reported with the file and the line or item it is on, before anything is
written.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin

from generation.knowledge.html import looks_like_html, page_from_html

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ARTICLES = 5000
MAX_TITLE = 200
MAX_BODY = 100_000
MAX_TAGS = 30
MAX_QUESTIONS = 50
MAX_URL = 500
ARTICLE_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
TABLE_SUFFIXES = (".json", ".csv")
# Fields of a JSON article that help-desk exports carry and an import does not need.
IGNORED_JSON_FIELDS = frozenset(
    {"id", "section", "section_id", "category", "locale", "created_at", "updated_at", "author", "html_url"}
)


class KBFormatError(ValueError):
    """The file cannot be imported; the message names the file and the line or item."""


@dataclass(frozen=True)
class ArticleInput:
    title: str
    body: str
    tags: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    url: str = ""
    where: str = ""


def parse_kb_path(path: Path, *, base_url: str = "") -> list[ArticleInput]:
    """Every article in ``path`` (a file, a folder or a ``.zip``), checked as a whole.

    ``base_url``: the help centre's address; a page without its own URL gets ``base_url``
    joined with its path in the folder (``.html`` kept)."""
    path = Path(path)
    if not path.exists():
        raise KBFormatError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
        items = _parse_many(((str(p.relative_to(path)), p.read_bytes()) for p in files if _wanted(p.name)), base_url)
    elif path.suffix.lower() == ".zip":
        items = _parse_zip(path, base_url)
    else:
        _check_size(str(path), path.stat().st_size)
        items = _parse_file(path.name, path.read_bytes(), base_url, "")  # the caller names the file
    return check_articles(items)


def _hidden(relative: Path) -> bool:
    return any(part.startswith((".", "__")) for part in relative.parts)


def _wanted(name: str) -> bool:
    return name.lower().endswith(ARTICLE_SUFFIXES + TABLE_SUFFIXES)


def _check_size(where: str, size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise KBFormatError(f"{where}: {size} bytes is more than the {MAX_FILE_BYTES} bytes an import may have")


def _parse_zip(path: Path, base_url: str) -> list[ArticleInput]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise KBFormatError(f"{path}: not a zip archive") from None
    with archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and _wanted(m.filename) and not _hidden(Path(PurePosixPath(m.filename)))
        ]
        total = sum(m.file_size for m in members)
        _check_size(str(path), total)
        return _parse_many(((m.filename, archive.read(m)) for m in sorted(members, key=lambda m: m.filename)), base_url)


def _parse_many(files: Iterable[tuple[str, bytes]], base_url: str) -> list[ArticleInput]:
    items: list[ArticleInput] = []
    total = 0
    for name, data in files:
        total += len(data)
        _check_size("the folder", total)
        items.extend(_parse_file(name, data, base_url, name))
    if not items:
        raise KBFormatError(f"no {', '.join(ARTICLE_SUFFIXES + TABLE_SUFFIXES)} files with articles found")
    return items


def _parse_file(name: str, data: bytes, base_url: str, where: str) -> list[ArticleInput]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KBFormatError(_at(where, f"not UTF-8 text (byte {exc.start})")) from None
    suffix = PurePosixPath(name).suffix.lower()
    try:
        if suffix == ".json":
            items = _parse_json(text)
        elif suffix == ".csv":
            items = _parse_csv(text)
        elif suffix in (".html", ".htm"):
            page = page_from_html(text, url=urljoin(base_url.rstrip("/") + "/", name) if base_url else "")
            items = [ArticleInput(title=page.title, body=page.body, url=page.url, where="the page")]
        elif suffix in (".md", ".markdown", ".txt"):
            items = _parse_markdown(text, default_title=PurePosixPath(name).stem.replace("-", " ").replace("_", " "))
        else:
            raise KBFormatError(f"unknown format {suffix!r}; use .json, .csv, .md, .html, a folder or a .zip")
    except KBFormatError as exc:
        raise KBFormatError(_at(where, str(exc))) from None
    if not where:
        return items
    return [replace(item, where=f"{where}, {item.where}" if item.where else where) for item in items]


def _at(where: str, problem: str) -> str:
    return f"{where}: {problem}" if where else problem


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
        if item.url and (len(item.url) > MAX_URL or not re.match(r"^https?://\S+$", item.url)):
            raise KBFormatError(f"{item.where}: the url of {item.title!r} must be an http(s) address")
        key = item.title.casefold()
        if key in seen:
            raise KBFormatError(f"{item.where}: the title {item.title!r} is also used at {seen[key]}")
        seen[key] = item.where
    return items


def _clean(value: str) -> str:
    return value.replace("\x00", "").strip()


def _body(value: str) -> str:
    """An article body as text: HTML (a help desk's export) is turned into text with headings."""
    value = _clean(value)
    return page_from_html(f"<body>{value}</body>").body if looks_like_html(value) else value


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
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]  # {"articles": [...]}, as help-desk APIs page them
    if not isinstance(data, list):
        raise KBFormatError('the JSON must be a list of {"title", "body", "tags"} objects')
    items = []
    for index, raw in enumerate(data, start=1):
        where = f"item {index}"
        if not isinstance(raw, dict):
            raise KBFormatError(f"{where}: must be an object with title, body and tags")
        unknown = set(raw) - {"title", "body", "tags", "questions", "url", "label_names"} - IGNORED_JSON_FIELDS
        if unknown:
            raise KBFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        title, body, url = raw.get("title"), raw.get("body"), raw.get("url") or raw.get("html_url") or ""
        if not isinstance(title, str) or not isinstance(body, str):
            raise KBFormatError(f"{where}: 'title' and 'body' must be strings")
        if not isinstance(url, str):
            raise KBFormatError(f"{where}: 'url' must be a string")
        items.append(
            ArticleInput(
                title=_clean(title),
                body=_body(body),
                tags=_string_list(raw.get("tags", raw.get("label_names")), where, "tags", ",;"),
                questions=_string_list(raw.get("questions"), where, "questions", "|\n"),
                url=_clean(url),
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
                    body=_body(fields.get("body", "")),
                    tags=_string_list(fields.get("tags", ""), where, "tags", ",;"),
                    questions=_string_list(fields.get("questions", ""), where, "questions", "|\n"),
                    url=_clean(fields.get("url", "")),
                    where=where,
                )
            )
    except csv.Error as exc:
        raise KBFormatError(f"line {reader.line_num}: {exc}") from None
    return items


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


def _parse_markdown(text: str, *, default_title: str = "") -> list[ArticleInput]:
    """``# Title`` starts an article. A file with no ``# `` heading is one article titled by
    its front matter's ``title:`` or ``default_title`` (a file in a folder)."""
    meta: dict[str, str] = {}
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            meta[key.strip().lower()] = value.strip().strip("\"'")
        text = text[front.end() :]
    first_line = 1 + (front.group(0).count("\n") if front else 0)  # the file's line of lines[0]
    lines = text.splitlines()
    synthetic = not any(re.match(r"^#\s+\S", line) for line in lines)
    if synthetic:
        title = meta.get("title") or default_title
        if not title:
            raise KBFormatError("line 1: no '# Title' heading")
        lines = [f"# {title}", *lines]
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
                    url=current["url"],
                    where=current["where"],
                )
            )

    for index, line in enumerate(lines):
        number = max(first_line, first_line + index - synthetic)
        heading = re.match(r"^#\s+(.*)$", line)
        if heading:
            close()
            current = {
                "title": _clean(heading.group(1)),
                "body": [],
                "tags": _string_list(meta.get("tags", ""), f"line {number}", "tags", ",;"),
                "questions": [],
                "url": meta.get("url", ""),
                "where": f"line {number}",
            }
            continue
        if current is None:
            if line.strip():
                raise KBFormatError(f"line {number}: text before the first '# Title' heading")
            continue
        if not current["body"] and re.match(r"^tags:", line, re.IGNORECASE):
            current["tags"] = _string_list(line.split(":", 1)[1], f"line {number}", "tags", ",;")
        elif not current["body"] and re.match(r"^url:", line, re.IGNORECASE):
            current["url"] = _clean(line.split(":", 1)[1])
        elif re.match(r"^q:", line, re.IGNORECASE):
            question = _clean(line.split(":", 1)[1])
            if question:
                current["questions"].append(question)
        else:
            current["body"].append(line)
    close()
    return items
