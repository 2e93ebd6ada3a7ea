"""Customers' typos mended against the knowledge base's words."""

from __future__ import annotations

from generation.knowledge.spelling import Speller, edit_distance

ARTICLES = ["Your membership renews every year. You receive an email before it does.", "Promo codes: FIRSTRIDE."]


def test_typos_of_the_articles_words_are_mended() -> None:
    speller = Speller(ARTICLES, english=frozenset({"how", "much", "is", "the", "when", "do", "i", "my"}))
    assert speller.correct("how much is the memebership") == "how much is the membership"
    assert speller.correct("when do i recieve my email") == "when do i receive my email"


def test_real_words_the_articles_lack_are_left_alone() -> None:
    speller = Speller(ARTICLES, english=frozenset({"stove", "wait", "want"}))
    assert speller.correct("my stove") == "my stove"  # "store" is not in the articles either way
    assert speller.correct("I want") == "I want"
    assert speller.correct("xyzzy") == "xyzzy"  # nothing close


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("recieve", "receive") == 1
    assert edit_distance("memebership", "membership") == 1
    assert edit_distance("cat", "dog") == 3
