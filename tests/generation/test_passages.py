"""Articles cut into units and passages, and help-centre pages read as articles."""

from __future__ import annotations

from generation.knowledge.html import looks_like_html, page_from_html
from generation.knowledge.passages import (
    PASSAGE_MAX_CHARS,
    in_context,
    outline,
    split_sentences,
    table_cells,
    table_row,
)

LONG_ARTICLE = """Welcome to our help centre. Read on for how fees work.

## Late fees
If you return a bike after 30 minutes, a fee of $4 applies for each extra 15 minutes. Members pay $2.50 instead.
The fee is charged at around 3 am the next day.

We accept the following payment methods:
- Visa
- Mastercard
- PayPal (in the app only)

## Steps to dispute a fee
1. Open the app and tap **Ride history**.
2. Choose the ride and tap [Report a problem](https://help.example/report), then describe what happened in a few words.
"""


def test_sentences_do_not_end_at_abbreviations_decimals_or_addresses() -> None:
    text = "We ship worldwide, e.g. to Canada. A pass costs $3.50 (approx. $4 with tax). See https://x.example/a.b today. Call at 9 a.m. Eastern."
    assert split_sentences(text) == [
        "We ship worldwide, e.g. to Canada.",
        "A pass costs $3.50 (approx. $4 with tax).",
        "See https://x.example/a.b today.",
        "Call at 9 a.m. Eastern.",
    ]


def test_units_follow_headings_paragraphs_and_lists() -> None:
    shape = outline(LONG_ARTICLE)
    assert "If you return a bike after 30 minutes, a fee of $4 applies for each extra 15 minutes." in shape.units
    # A short list stays one unit with its lead-in, so "which methods?" is answered whole.
    assert "We accept the following payment methods: Visa; Mastercard; PayPal (in the app only)." in shape.units
    # Steps are units of their own; markup is dropped and a link keeps its address.
    assert "Open the app and tap Ride history." in shape.units
    assert any("Report a problem (https://help.example/report)" in unit for unit in shape.units)
    headings = dict(zip(shape.units, shape.headings, strict=True))
    assert headings["Members pay $2.50 instead."] == "Late fees"
    assert headings["Open the app and tap Ride history."] == "Steps to dispute a fee"
    assert headings["Welcome to our help centre."] == ""


def test_the_items_of_a_long_list_know_the_sentence_that_introduces_them() -> None:
    shape = outline(
        "Call our 24-hour line on 555-0199 if:\n\n"
        "- A bike is stuck in a dock and you can't end your ride.\n"
        "- A dock or station looks electrically unsafe, for example a damaged cable or a burning smell.\n\n"
        "For anything else, please use the app."
    )
    lead = shape.units.index("Call our 24-hour line on 555-0199 if:")
    assert [shape.lead_ins[i] for i in range(len(shape.units))] == [-1, lead, lead, -1]


def test_items_that_go_on_their_lead_ins_sentence_read_as_one_sentence_with_it() -> None:
    shape = outline(
        "Belongings left in an unattended vehicle are only covered if:\n\n"
        "- the items are out of sight in a locked boot or glovebox of the vehicle you left; and\n"
        "- the theft happens between 7am and 10pm, unless the vehicle is in a locked garage\n\n"
        "You may be charged a penalty fare if you:\n\n"
        "- are on a tram or metro train, or in the ticket-only area of a station, without a ticket.\n"
        "- didn't tap in with your card, phone or watch before boarding the vehicle or the train\n"
        "- tapped in with a different card or device from the one you show to the officer;\n"
    )
    assert " ".join(shape.units) == (
        "Belongings left in an unattended vehicle are only covered if: the items are out of sight in a "
        "locked boot or glovebox of the vehicle you left; and the theft happens between 7am and 10pm, "
        "unless the vehicle is in a locked garage. You may be charged a penalty fare if you: are on a "
        "tram or metro train, or in the ticket-only area of a station, without a ticket; didn't tap in "
        "with your card, phone or watch before boarding the vehicle or the train; tapped in with a "
        "different card or device from the one you show to the officer."
    )
    # Items that are sentences of their own stay so.
    steps = outline(
        "To dispute a fee:\n\n- Open the app and tap Ride history on the menu at the top of the screen\n"
        "- Choose the ride you want to dispute and tap Report a problem at the bottom of the page\n"
    )
    assert steps.units[1:] == (
        "Open the app and tap Ride history on the menu at the top of the screen.",
        "Choose the ride you want to dispute and tap Report a problem at the bottom of the page.",
    )


TABLE_ARTICLE = """## Prices

Our passes cost:

| Pass | Price | Rides |
|:-----|------:|:-----:|
| Day Pass | $15 | Unlimited 30-minute rides for 24 hours |
| **Annual** | $99 \\| $9 a month | Unlimited 45-minute rides |

Prices include tax. A line with a | in it is prose.

| E | An estimated reading |
| A | An actual reading |
"""


def test_each_table_row_is_a_unit_that_names_its_columns() -> None:
    shape = outline(TABLE_ARTICLE)
    day = "Pass: Day Pass; Price: $15; Rides: Unlimited 30-minute rides for 24 hours."
    annual = "Pass: Annual; Price: $99 | $9 a month; Rides: Unlimited 45-minute rides."
    assert shape.units[:3] == ("Our passes cost:", day, annual)
    # The rows know the sentence that introduces the table, as a long list's items do.
    assert shape.lead_ins[1:3] == (0, 0)
    # No row is glued to its neighbours, however short, and the delimiter row is no unit.
    assert "Prices include tax." in shape.units and "A line with a | in it is prose." in shape.units
    assert not any("---" in unit for unit in shape.units)
    # A table without a header row names each row by its first cell.
    assert shape.units[-2:] == ("E: An estimated reading.", "A: An actual reading.")
    assert all(shape.headings[i] == "Prices" for i in range(len(shape.units)))


def test_an_html_table_becomes_the_same_rows() -> None:
    page = page_from_html(
        "<h1>Passes</h1><p>Our passes cost:</p><table><thead><tr><th>Pass</th><th>Price</th></tr></thead>\n"
        "<tbody><tr><td>Day Pass</td><td>$15 | or less</td></tr>\n<tr><td>Annual</td><td>$99</td></tr></tbody></table>\n"
        "<table><tr><th>E</th><td>An estimated reading</td></tr><tr><th>A</th><td>An actual reading</td></tr></table>"
    )
    assert outline(page.body).units == (
        "Our passes cost:",
        "Pass: Day Pass; Price: $15 | or less.",
        "Pass: Annual; Price: $99.",
        "E: An estimated reading.",
        "A: An actual reading.",
    )


def test_passages_cover_every_unit_once_and_stay_within_one_section() -> None:
    body = "\n\n".join(
        f"## Part {p}\n" + " ".join(f"Sentence {p}.{i} says something useful here." for i in range(12))
        for p in range(3)
    )
    shape = outline(body)
    covered = [i for passage in shape.passages for i in range(passage.start, passage.end)]
    assert covered == list(range(len(shape.units)))
    for passage in shape.passages:
        assert len({shape.headings[i] for i in range(passage.start, passage.end)}) == 1
        assert len(passage.text) <= PASSAGE_MAX_CHARS
    assert len(shape.passages) >= 6  # a long section is cut into windows, not kept whole


def test_a_passage_is_embedded_and_shown_with_its_title_and_heading() -> None:
    assert in_context("Fees", "Late fees", "A fee applies.") == "Fees - Late fees: A fee applies."
    assert in_context("Fees", "", "A fee applies.") == "Fees: A fee applies."


PAGE = """<!doctype html><html><head><title>Late fees &amp; fines – Spokes Help Center</title>
<link rel="canonical" href="https://help.spokes.example/articles/late-fees"></head>
<body><header><nav><a href="/">Home</a><input placeholder="Search"></nav></header>
<ol class="breadcrumbs"><li>Help</li><li>Fees</li></ol>
<main><article><h1>Late fees &amp; fines</h1>
<p>Bikes must be back within <strong>30 minutes</strong>.</p>
<h2>Overtime</h2><p>Each extra 15 minutes costs $4.</p>
<p>We accept:</p><ul><li><p>Visa</p></li><li>Mastercard</li></ul>
<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Day Pass</td><td>$15</td></tr></table>
<div class="article-votes">Was this article helpful? Yes No</div>
</article><section class="related-articles"><h3>Related</h3><a>Refunds</a></section></main>
<footer>© Spokes</footer><script>track()</script></body></html>"""


def test_a_help_centre_page_keeps_its_article_and_drops_the_page_around_it() -> None:
    page = page_from_html(PAGE)
    assert page.title == "Late fees & fines"
    assert page.url == "https://help.spokes.example/articles/late-fees"
    assert "## Overtime" in page.body
    for furniture in ("Home", "Search", "Was this article helpful", "Related", "Spokes", "track()", "Help\n"):
        assert furniture not in page.body
    units = outline(page.body).units
    assert "Each extra 15 minutes costs $4." in units
    assert "We accept: Visa; Mastercard." in units
    assert any("Plan: Day Pass; Price: $15" in unit for unit in units)


def test_a_page_without_h1_takes_its_title_without_the_site_name() -> None:
    page = page_from_html("<title>Refunds | Spokes Help</title><p>Refunds take 5 days.</p>", url="https://x.example/r")
    assert (page.title, page.body, page.url) == ("Refunds", "Refunds take 5 days.", "https://x.example/r")


def test_html_bodies_are_told_from_text() -> None:
    assert looks_like_html("<p>Refunds take <b>5</b> days.</p>")
    assert not looks_like_html("Prices are < $5 and > $2 for kids.")


def test_an_faq_page_answers_under_its_questions() -> None:
    page = page_from_html(
        "<h1>FAQ</h1><details><summary>Can I pay by cheque?</summary>No, we don't accept cheques.</details>"
        '<div class="faq-item"><div><strong>Do you ship abroad?</strong></div><div>Yes, to <b>20</b> countries.</div></div>'
        "<p><strong>Please note: we can't refund gift cards.</strong></p><p><strong>Note:</strong> prices include VAT.</p>"
        "<dl><dt>Excess</dt><dd>The amount you pay towards a claim.</dd></dl>"
    )
    shape = outline(page.body)
    assert list(zip(shape.headings, shape.units, strict=True)) == [
        # An accordion's summary, and a line set in bold alone, head the answer below them.
        ("Can I pay by cheque?", "No, we don't accept cheques."),
        ("Do you ship abroad?", "Yes, to 20 countries."),
        # A sentence set in bold is still a sentence; bold within a line is plain text.
        ("Do you ship abroad?", "Please note: we can't refund gift cards."),
        ("Do you ship abroad?", "Note: prices include VAT."),
        # A glossary's term heads its definition.
        ("Excess", "The amount you pay towards a claim."),
    ]
    assert "Yes, to 20 countries." in page.body.splitlines()  # as stored and shown to staff


def test_a_row_reads_back_as_the_cells_it_was_written_from() -> None:
    row = table_row(["Item", "Price"], ["Sideboard or TV unit", "£40"])
    assert table_cells(row) == [("Item", "Sideboard or TV unit"), ("Price", "£40")]
    # A sentence is no row, even with a colon in it.
    assert table_cells("Please note: we deliver on weekdays; not at weekends.") == []


def test_a_line_of_page_furniture_is_no_unit_but_a_sentence_like_it_is() -> None:
    body = """Updated 3 February 2025

Written by Sam Ortiz

4 min read

Updated prices apply from 1 May.

Refunds take 5 days.

Was this article helpful?
"""
    # Each of those lines embeds beside the title like the title itself, and answers nothing.
    assert outline(body).units == ("Updated prices apply from 1 May.", "Refunds take 5 days.")


def test_a_pages_meta_line_is_dropped_from_its_article() -> None:
    page = page_from_html(
        '<article><h1>Refunds</h1><p class="article-meta">Updated 3 February 2025</p>'
        '<p><span class="article-author">Sam Ortiz</span></p><p>Refunds take 5 days.</p></article>'
    )
    assert page.body == "Refunds take 5 days."
