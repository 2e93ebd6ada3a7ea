"""A help-centre page (HTML) as an article: its title, its URL and its text with headings.

A saved or exported help-centre page carries far more than the article: navigation,
breadcrumbs, search boxes, "was this helpful?" votes, related articles, scripts, cookie
banners, footers. The text kept is the page's ``<article>`` (else ``<main>``, else the body)
without those parts; ``<h2>``-``<h6>`` become ``## heading`` lines, list items ``- item``
lines and tables Markdown tables, so passages follow the page's own sections and read each
table row under its columns' names (generation/knowledge/passages.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Elements whose content is never article text.
_DROPPED = frozenset(
    "script style noscript template svg nav header footer aside form button select textarea iframe head".split()
)
# class/id/role words of page furniture that some exports put in plain <div>s and <section>s.
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(?:breadcrumbs?|nav|navbar|navigation|menu|sidebar|footer|header|cookie|banner|search|"
    r"share|social|votes?|vote-|rating|feedback|comments?|related|relatives|recent|subscribe|pagination|"
    r"skip|toc|table-of-contents|meta|author|byline|timestamp|updated|reading-time)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCK = frozenset("p div section article main br tr table ul ol dl dt dd blockquote pre figure hr li details".split())
# Bold text keeps its ``**`` marks: a line that is bold alone ("<p><strong>Do you ship
# abroad?</strong></p>", a glossary's <dt>) is a heading to passages, as in Markdown.
_BOLD = frozenset("strong b dt".split())
# An accordion's <summary> is the question its panel answers: a heading too.
_HEADING = re.compile(r"h[1-6]|summary")
_VOID = frozenset("br hr img input meta link area base col embed source track wbr".split())
_ITEM = re.compile(r"^(?:-|\d+\.) ")
_ROW = re.compile(r"^\|.*\|$")
_BOLD_LINE = re.compile(r"\*\*[^*]+\*\*:?")
_END_OF_LIST = "\n\x00\n"  # a blank line that keeps two lists apart (see ``_tidy``)
_TITLE_SUFFIX = re.compile(r"\s+[|–—·-]\s+[^|–—·-]{2,60}$")


@dataclass(frozen=True)
class Page:
    title: str
    body: str
    url: str


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, dropped)
        self.dropped = 0
        self.title = ""
        self.h1 = ""
        self.url = ""
        self.in_title = False
        self.heading: list[str] | None = None
        self.level = 0
        self.lists: list[str] = []  # "ul" / "ol", innermost last
        self.counters: list[int] = []
        # Text by region, so the article (or main) can be preferred over the whole body.
        self.regions: dict[str, list[str]] = {"article": [], "main": [], "body": []}
        self.open_regions: list[str] = []
        self.cells: list[str] | None = None  # the cells of the table row being read
        self.cell: list[str] | None = None
        self.row_is_header = True
        self.table_headers: list[str] = []

    # --- output -----------------------------------------------------------------------------
    def _emit(self, text: str) -> None:
        for region in {"body", *self.open_regions}:
            self.regions[region].append(text)

    def _newline(self) -> None:
        self._emit("\n")

    # --- parsing ----------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "link" and "canonical" in values.get("rel", "").split() and values.get("href"):
            self.url = self.url or values["href"]
        if tag == "meta" and values.get("property") == "og:url" and values.get("content"):
            self.url = self.url or values["content"]
        if tag in _VOID:
            if tag in ("br", "hr") and not self.dropped:
                self._newline()
            return
        furniture = " ".join([values.get("class", ""), values.get("id", ""), values.get("role", "")])
        drop = (
            tag in _DROPPED
            or bool(_FURNITURE.search(furniture))
            or "hidden" in values
            or (values.get("aria-hidden") == "true")
        )
        self.stack.append((tag, drop))
        if drop:
            self.dropped += 1
        if tag == "title":
            self.in_title = True
        if self.dropped:
            return
        if tag in ("article", "main"):
            self.open_regions.append(tag)
        if _HEADING.fullmatch(tag):
            self.heading, self.level = [], int(tag[1]) if tag[0] == "h" else 3
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
            self.counters.append(0)
        elif tag == "li":
            self._newline()
            if self.lists and self.lists[-1] == "ol":
                self.counters[-1] += 1
                self._emit(f"{self.counters[-1]}. ")
            else:
                self._emit("- ")
        elif tag == "tr":
            self.cells, self.row_is_header = [], True
        elif tag in ("td", "th") and self.cells is not None:
            self.cell = []
            self.row_is_header = self.row_is_header and tag == "th"
        elif tag == "table":
            self.table_headers = []
            self._emit(_END_OF_LIST)
        elif tag in _BLOCK:
            self._newline()
            if tag == "p":
                self._newline()
        if tag in _BOLD:
            self._mark("**")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        # Tolerate unclosed tags: close up to the matching one.
        while self.stack:
            open_tag, drop = self.stack.pop()
            if drop:
                self.dropped -= 1
            elif not self.dropped:
                self._close(open_tag)
            if open_tag == "title":
                self.in_title = False
            if open_tag == tag:
                break

    def _close(self, tag: str) -> None:
        if tag in _BOLD:
            self._mark("**")
        if _HEADING.fullmatch(tag) and self.heading is not None:
            text = " ".join("".join(self.heading).split())
            self.heading = None
            if self.level == 1 and not self.h1:
                self.h1 = text
            elif text:
                self._emit(f"\n\n## {text}\n\n")
        elif tag in ("ul", "ol", "table") and (self.lists or tag == "table"):
            if tag != "table":
                self.lists.pop()
                self.counters.pop()
            self._emit(_END_OF_LIST)
        elif tag in ("article", "main") and tag in self.open_regions:
            self.open_regions.remove(tag)
        elif tag in ("td", "th") and self.cells is not None and self.cell is not None:
            self.cells.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.cells is not None:
            self._row(self.cells)
            self.cells = None
        elif tag in _BLOCK:
            self._newline()
            if tag == "p":
                self._newline()

    def _row(self, cells: list[str]) -> None:
        """The row as a Markdown table row; the first header row is followed by the delimiter
        row, so passages read each data row under its columns' names."""
        if not any(cells):
            return
        self._emit("\n| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |\n")
        if self.row_is_header and not self.table_headers:
            self.table_headers = cells
            self._emit("|" + " --- |" * len(cells) + "\n")

    def _mark(self, mark: str) -> None:
        """An inline mark in the article's text (not in a heading, a title or a table cell)."""
        if not (self.dropped or self.in_title or self.heading is not None or self.cell is not None):
            self._emit(mark)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.dropped:
            return
        if self.heading is not None:
            self.heading.append(data)
        elif self.cell is not None:
            self.cell.append(data)
        else:
            self._emit(data)


def page_from_html(html: str, *, url: str = "") -> Page:
    """The article of one help-centre page: title from ``<h1>`` (else ``<title>`` without
    the site's name), body as text with ``##`` headings and ``-`` items, URL from
    ``<link rel="canonical">`` or ``og:url``, else ``url``."""
    parser = _Extractor()
    parser.feed(html)
    parser.close()
    region = next((r for r in ("article", "main") if "".join(parser.regions[r]).strip()), "body")
    text = "".join(parser.regions[region])
    title = parser.h1 or _TITLE_SUFFIX.sub("", " ".join(parser.title.split()))
    return Page(title=" ".join(title.split()), body=_tidy(text), url=parser.url or url)


def _tidy(text: str) -> str:
    """Lines stripped, runs of blank lines collapsed to one, items' ``;`` separators tidied."""
    out: list[str] = []
    marker = ""  # a list marker whose text comes on a later line (<li><p>...</p></li>)
    for raw in text.splitlines():
        line = " ".join(raw.split()).strip(" ;")
        if not _BOLD_LINE.fullmatch(line):
            line = " ".join(line.replace("**", "").split())  # bold within a line: plain text
        if line == "\x00":
            out.append(line)
            continue
        if line == "-" or re.fullmatch(r"\d+\.", line):
            marker = line + " "
            continue
        if not line:
            if out and out[-1] != "" and not marker:
                out.append("")
            continue
        line = marker + line
        if len(out) >= 2 and out[-1] == "" and any(m(line) and m(out[-2]) for m in (_ITEM.match, _ROW.match)):
            out.pop()  # items of one list, and rows of one table, stay together
        out.append(line)
        marker = ""
    text = "\n".join("" if line == "\x00" else line for line in out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def looks_like_html(text: str) -> bool:
    """Whether an imported body is HTML (a help desk's API export) rather than text."""
    return bool(re.search(r"<(?:p|div|h[1-6]|ul|ol|li|br|span|a|strong|table)\b[^>]*>", text, re.IGNORECASE))
