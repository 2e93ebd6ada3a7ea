"""Articles cut into passages and sentences: what retrieval ranks and what answers quote.

A help-centre article runs to thousands of characters; a customer asks about one sentence in
it. So an article body (plain text or Markdown: ``## headings``, paragraphs separated by blank
lines, ``-``/``1.`` list items) is cut along its structure:

- a *unit* is one sentence of a paragraph, or one list item (a list of short items is one unit,
  its lead-in sentence ending in ``:`` with it, so "We accept: Visa; Mastercard; PayPal." stays
  whole; the items of a list that goes on its lead-in's sentence, "You may be charged a penalty
  fare if you: are on a tram without a ticket; didn't tap in ...", end with ";" but the last),
  or one row of a table, each cell under its column's name ("Plan: Day Pass; Price:
  $15."), so that a row read alone still says what each value is;
- a *passage* is a few consecutive units of one section (a paragraph, or a window of a long
  one), at most ``PASSAGE_MAX_CHARS``, with the article title and section heading kept beside
  it as context.

Pure functions: the index embeds what they return, and the answer quotes units verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PASSAGE_MAX_CHARS = 600
PASSAGE_MAX_UNITS = 5
# A list whose items are all this short is one unit ("Visa; Mastercard; PayPal").
SHORT_ITEM_CHARS = 70

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
# A line bold alone is a heading ("**Do you ship abroad?**", "**Fees:**"); one that ends a
# sentence is a sentence set in bold ("**We can't refund gift cards.**"), kept as text.
_BOLD_HEADING = re.compile(r"^\s*(?:\*\*|__)([^*_]{1,79}[^*_.!\s])\s*(?:\*\*|__)\s*:?\s*$")
_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+(.*)$")
_INLINE_MARKUP = re.compile(r"(\*\*|__|`)")
# A Markdown table: a header row, a delimiter row ("| --- | :-: |"), then data rows. Rows
# written with outer pipes ("| a | b |") are read as a table without the delimiter too.
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_PIPED_ROW = re.compile(r"^\s*\|.*[^\\]\|\s*$")
_CELL_EDGE = re.compile(r"(?<!\\)\|")
# A line of page furniture that exports keep in an article's text ("Updated 3 February 2025",
# "Last updated: 2024-11-02", "Written by Sam Ortiz", "4 min read", "Was this article
# helpful?"): nothing a customer asks about, and embedded beside the article's title it would
# score like the title itself. Only a line that is that alone goes: "Updated prices apply from
# 1 May." is a sentence.
_DATE = (
    r"(?:\d{1,2}(?:st|nd|rd|th)?\s+[a-z]+\.?,?\s+\d{4}|[a-z]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:over\s+|about\s+|almost\s+)?(?:a|an|\d+)\s+[a-z]+\s+ago"
    r"|yesterday|today)"
)
_PAGE_META = re.compile(
    rf"^(?:(?:last\s+)?(?:updated|modified|edited|reviewed|published)(?:\s+on)?:?\s+{_DATE}"
    r"|(?:written|posted|published)\s+by\s+[\w'’.-]+(?:\s+[\w'’.-]+){0,3}|\d+\s*min(?:ute)?s?\s+read"
    r"|was\s+this\s+(?:article|page|answer)\s+helpful\??(?:\s+yes\s+no)?)\.?$",
    re.IGNORECASE,
)
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
# A sentence ends at . ! or ? followed by space and a capital, digit, quote or bracket ...
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9$€£])")
# ... unless the word before the full stop is an abbreviation or an initial.
ABBREVIATIONS = frozenset(
    """e.g i.e etc vs approx incl excl min max no nos tel fig dept mr mrs ms dr prof st ave rd co inc ltd
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun a.m p.m u.s u.k est
    ref acc""".split()
)


@dataclass(frozen=True)
class Passage:
    """Consecutive units ``start``..``end`` (exclusive) of an article, under ``heading``."""

    heading: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Outline:
    """An article as units (sentences or short lists) and the passages that group them."""

    units: tuple[str, ...]
    headings: tuple[str, ...]  # each unit's section heading ("" before the first heading)
    passages: tuple[Passage, ...]
    # Each unit's lead-in: for an item of a list introduced by a sentence ending in ":" ("Call
    # our 24-hour line on 555-0199 if:"), that sentence's position; -1 for any other unit.
    lead_ins: tuple[int, ...]


def split_sentences(text: str) -> list[str]:
    """The sentences of one paragraph (whitespace collapsed); abbreviations, initials,
    decimals, times and addresses do not end a sentence."""
    text = " ".join(text.split())
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rstrip("\"')]")
        word = before.rsplit(" ", 1)[-1].strip("\"'([.!?").lower()
        if before.endswith(".") and (word in ABBREVIATIONS or re.fullmatch(r"[a-z]", word)):
            continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def clean_inline(text: str) -> str:
    """Markdown emphasis and code marks dropped; ``[label](url)`` becomes ``label (url)``."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    return " ".join(_INLINE_MARKUP.sub("", text).split())


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row, without the outer pipes; ``\\|`` is a pipe."""
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") and not text.endswith("\\|") else text
    return [clean_inline(cell.replace("\\|", "|")) for cell in _CELL_EDGE.split(text)]


def table_row(headers: list[str], cells: list[str]) -> str:
    """One data row as text: each cell after its column's header ("Price: $15"), cells joined
    by "; ". A table without a header (or whose header does not fit the row) names its rows
    by their first cell instead ("E: Estimated reading")."""
    if len(headers) == len(cells):
        return "; ".join(f"{h}: {c}" if h else c for h, c in zip(headers, cells, strict=True) if c)
    cells = [c for c in cells if c]
    if len(cells) < 2:
        return "".join(cells)
    return f"{cells[0]}: " + "; ".join(cells[1:])


# A cell of a row as ``table_row`` writes it: the column's name, then the value.
_NAMED_CELL = re.compile(r"^(?P<header>[^:;]{1,60}): (?P<value>.+)$")


def table_cells(unit: str) -> list[tuple[str, str]]:
    """The (column, value) cells of ``unit`` when it is a row as ``table_row`` writes it, each
    cell under its column's name ("Item: Desk; Price: £40."); none for any other text."""
    cells = []
    for part in unit.rstrip(".").split("; "):
        match = _NAMED_CELL.match(part)
        if match is None:
            return []
        cells.append((match.group("header"), match.group("value")))
    return cells if len(cells) >= 2 else []


def _table_rows(lines: list[str], i: int) -> tuple[list[str], int]:
    """The rows, as text, of the Markdown table that starts at ``lines[i]`` and the index of
    the line after it; no rows when no table starts there."""
    headers: list[str] = []
    j = i
    if "|" in lines[i] and i + 1 < len(lines) and "|" in lines[i + 1] and _TABLE_DELIMITER.match(lines[i + 1]):
        headers, j = _cells(lines[i]), i + 2
        piped = False
    elif _PIPED_ROW.match(lines[i]):
        piped = True
    else:
        return [], i
    rows: list[str] = []
    while j < len(lines) and lines[j].strip() and (_PIPED_ROW.match(lines[j]) if piped else "|" in lines[j]):
        if not _TABLE_DELIMITER.match(lines[j]):
            row = table_row(headers, _cells(lines[j]))
            if row:
                rows.append(row)
        j += 1
    return rows, j


def _blocks(body: str) -> list[tuple[str, str, list[str]]]:
    """(heading, kind, lines) for every paragraph ("p"), list ("list") and table ("table") of
    ``body``."""
    blocks: list[tuple[str, str, list[str]]] = []
    heading = ""
    current: list[str] = []
    kind = "p"

    def close() -> None:
        nonlocal current
        if current:
            blocks.append((heading, kind, current))
        current = []

    lines = body.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        line = raw.rstrip()
        if not line.strip() or _PAGE_META.match(clean_inline(line).strip("*_ ")):
            close()
            continue
        rows, after = _table_rows(lines, i - 1)
        if after > i - 1:
            close()
            if rows:
                blocks.append((heading, "table", rows))
            kind, i = "p", after
            continue
        found = _HEADING.match(line) or _BOLD_HEADING.match(line)
        if found:
            close()
            heading = clean_inline(found.group(found.lastindex or 1)).rstrip(":")
            continue
        item = _ITEM.match(line)
        if item:
            if kind != "list":
                close()
                kind = "list"
            current.append(item.group(1))
        elif kind == "list" and current and raw[:1].isspace():
            current[-1] += " " + line.strip()  # an item continued on an indented line
        else:
            if kind == "list":
                close()
                kind = "p"
            current.append(line)
    close()
    return blocks


def _punctuated(text: str) -> str:
    return text if text[-1:] in ".!?:;" else text + "."


# An item that ends by running on to the next ("... in a locked boot or glovebox; and").
GOES_ON = re.compile(r"\s*(?:[;,]\s*(?:and|or)|[;,])$")


def _continuing(items: list[str]) -> list[str]:
    """The items of a list that goes on its lead-in's sentence ("You may be charged a penalty
    fare if you:", then "are on a tram without a valid ticket", "didn't tap in"), punctuated so
    that the lead-in and its items read as the one sentence they are: each item ends with ";"
    (or runs on as written, "; and"), the last with "."."""
    ended: list[str] = []
    for i, item in enumerate(items):
        text = item.rstrip()
        if i == len(items) - 1:
            ended.append(_punctuated(GOES_ON.sub("", text)))
        elif GOES_ON.search(text) or text[-1:] in "!?:":
            ended.append(text)
        else:
            ended.append(text.removesuffix(".") + ";")
    return ended


def outline(body: str) -> Outline:
    """Cut ``body`` into units and passages (see the module docstring)."""
    units: list[str] = []
    headings: list[str] = []
    lead_ins: list[int] = []
    passages: list[Passage] = []
    for heading, kind, lines in _blocks(body):
        first = len(units)
        if kind == "p":
            block_units = split_sentences(clean_inline(" ".join(lines)))
        else:
            items = [clean_inline(line) for line in lines if clean_inline(line)]
            lead = units[-1] if units and headings[-1] == heading and units[-1].endswith(":") else None
            if kind == "list" and items and all(len(item) <= SHORT_ITEM_CHARS for item in items):
                joined = "; ".join(item.rstrip(".;") for item in items) + "."
                if lead is not None:  # the lead-in and its short list are one unit
                    units.pop()
                    headings.pop()
                    lead_ins.pop()
                    first -= 1
                    joined = f"{lead} {joined}"
                    last = passages.pop()
                    if last.end - 1 > last.start:
                        passages.append(_passage(last.heading, units, last.start, last.end - 1))
                block_units = [joined]
            else:
                continues = lead is not None and all(item[:1].islower() for item in items)
                block_units = _continuing(items) if continues else [_punctuated(item) for item in items]
                if lead is not None:
                    lead_ins.extend([len(units) - 1] * len(block_units))
        lead_ins.extend([-1] * (len(units) + len(block_units) - len(lead_ins)))
        units.extend(block_units)
        headings.extend([heading] * len(block_units))
        passages.extend(_windows(heading, units, first, len(units)))
    return Outline(
        units=tuple(units),
        headings=tuple(headings),
        passages=tuple(_merge_small(passages, units)),
        lead_ins=tuple(lead_ins),
    )


def _windows(heading: str, units: list[str], start: int, end: int) -> list[Passage]:
    """One block's units as passages of at most ``PASSAGE_MAX_UNITS`` / ``PASSAGE_MAX_CHARS``."""
    windows: list[Passage] = []
    first = start
    size = 0
    for i in range(start, end):
        if i > first and (i - first >= PASSAGE_MAX_UNITS or size + len(units[i]) > PASSAGE_MAX_CHARS):
            windows.append(_passage(heading, units, first, i))
            first, size = i, 0
        size += len(units[i]) + 1
    if end > first:
        windows.append(_passage(heading, units, first, end))
    return windows


def _merge_small(passages: list[Passage], units: list[str]) -> list[Passage]:
    """Short neighbours of one section (a one-line paragraph and the next) become one passage."""
    merged: list[Passage] = []
    for passage in passages:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.heading == passage.heading
            and last.end == passage.start
            and len(last.text) + len(passage.text) < PASSAGE_MAX_CHARS // 2
            and passage.end - last.start <= PASSAGE_MAX_UNITS
        ):
            merged[-1] = _passage(passage.heading, units, last.start, passage.end)
        else:
            merged.append(passage)
    return merged


def _passage(heading: str, units: list[str], start: int, end: int) -> Passage:
    return Passage(heading=heading, start=start, end=end, text=" ".join(units[start:end]))


def in_context(title: str, heading: str, text: str) -> str:
    """A passage as it is embedded and shown to the model: where it comes from, then the text."""
    where = f"{title} - {heading}" if heading and heading.casefold() != title.casefold() else title
    return f"{where}: {text}"
