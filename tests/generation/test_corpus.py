"""The responder's generated training corpus: faithful answers, the kind mix, breadth and determinism."""

from __future__ import annotations

import collections
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generation.answering.gate import has_negation
from generation.responder import corpus
from generation.responder.corpus import NOT_FOUND, Dialogue, Sample

ROOT = Path(__file__).resolve().parents[2]
# The negations the brief names; "only" restrictions are deliberately absent.
NEGATION = re.compile(r"\b(?:not|no|cannot|can't|don't|doesn't|isn't|aren't|won't|never)\b", re.IGNORECASE)
LEAD = re.compile(r"^(Yes|No)([,.]) ")
TARGETS = {"direct": 45, "yes": 12, "no": 10, "two": 8, "followup": 15, "not_found": 10}


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return corpus.samples(5000, seed=11)


@pytest.fixture(scope="module")
def dialogues(samples: list[Sample]) -> list[Dialogue]:
    return [sample.dialogue for sample in samples]


def _core(answer: str) -> str:
    """The answer without a leading "Yes, " / "Yes. " / "No, " / "No. "."""
    found = LEAD.match(answer)
    return answer[found.end() :] if found else answer


def _same(a: str, b: str) -> bool:
    """Equal, but for the case of the first letter."""
    return a[:1].lower() == b[:1].lower() and a[1:] == b[1:]


def _answering(dialogue: Dialogue) -> list[int]:
    """The positions of the passage sentences the answer restates (one, or two in passage order)."""
    core, passage = _core(dialogue.answer), dialogue.passage
    singles = [i for i, sentence in enumerate(passage) if _same(core, sentence)]
    if singles:
        return singles[:1]
    pairs = [[i, j] for i in range(len(passage)) for j in range(i + 1, len(passage))]
    return next((pair for pair in pairs if _same(core, f"{passage[pair[0]]} {passage[pair[1]]}")), [])


def test_the_same_seed_gives_the_same_dialogues_and_another_seed_others() -> None:
    first, again, other = corpus.generate(300, seed=5), corpus.generate(300, seed=5), corpus.generate(300, seed=6)
    assert first == again
    assert sum(a == b for a, b in zip(first, other, strict=True)) < 5
    assert len(corpus.generate(0, seed=5)) == 0


def test_a_seed_gives_the_same_dialogues_in_another_process_whatever_its_hash_seed() -> None:
    code = (
        "import hashlib, sys; from generation.responder.corpus import generate; "
        "sys.stdout.write(hashlib.sha256(repr(generate(400, seed=3)).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", code], check=False, cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        digests.add(result.stdout)
    assert digests == {hashlib.sha256(repr(corpus.generate(400, seed=3)).encode()).hexdigest()}


def test_every_answer_restates_one_or_two_passage_sentences_with_its_facts(dialogues: list[Dialogue]) -> None:
    for dialogue in dialogues:
        if dialogue.kind == "not_found":
            continue
        positions = _answering(dialogue)
        assert len(positions) == (2 if dialogue.kind == "two" else 1), dialogue
        if dialogue.kind in ("yes", "no", "direct", "two"):
            assert bool(LEAD.match(dialogue.answer)) == (dialogue.kind in ("yes", "no")), dialogue
        for fact in dialogue.facts:
            assert fact in dialogue.answer, (fact, dialogue)
            assert any(fact in sentence for sentence in dialogue.passage), (fact, dialogue)
    with_facts = [d for d in dialogues if d.kind == "direct" and d.facts]
    assert len(with_facts) > 0.5 * sum(d.kind == "direct" for d in dialogues)


def test_yes_and_no_lead_sentences_without_and_with_a_negation(dialogues: list[Dialogue]) -> None:
    for dialogue in dialogues:
        found = LEAD.match(dialogue.answer)
        if not found:
            continue
        core = _core(dialogue.answer)
        sentence = dialogue.passage[_answering(dialogue)[0]]
        assert corpus.asks_yes_no(dialogue.question), dialogue
        if found.group(1) == "No":
            assert NEGATION.search(core), dialogue
        else:
            assert not NEGATION.search(core) and not has_negation(core), dialogue
        # "Yes, we ..." lowers an ordinary first word; "Yes, Velmora ..." keeps a name as it is.
        assert found.group(2) == ",", dialogue
        assert core in (sentence[0].lower() + sentence[1:], sentence), dialogue
    kinds = collections.Counter(d.kind for d in dialogues if LEAD.match(d.answer))
    assert kinds["yes"] == sum(d.kind == "yes" for d in dialogues)
    assert kinds["no"] == sum(d.kind == "no" for d in dialogues)
    assert {answer[:4] for answer in (d.answer for d in dialogues if d.kind == "yes")} == {"Yes,"}


def test_polar_answers_lower_ordinary_words_but_not_names() -> None:
    assert corpus.polar_answer("You can cancel at any time.") == "Yes, you can cancel at any time."
    assert corpus.polar_answer("Sale items cannot be returned.") == "No, sale items cannot be returned."
    assert (
        corpus.polar_answer("Pre-existing conditions aren't covered.") == "No, pre-existing conditions aren't covered."
    )
    assert corpus.polar_answer("Velmora integrates with Slack.", ["Velmora"]) == "Yes, Velmora integrates with Slack."
    assert corpus.polar_answer("Visa is accepted.") == "Yes, Visa is accepted."
    assert corpus.polar_answer("API access is on Pro only.") == "Yes, API access is on Pro only."


def test_not_found_passages_never_hold_what_the_question_asks_about(samples: list[Sample]) -> None:
    missing = [sample for sample in samples if sample.dialogue.kind == "not_found"]
    assert len(missing) > 300
    styles: collections.Counter[str] = collections.Counter()
    for sample in missing:
        dialogue, absent = sample.dialogue, sample.absent
        assert dialogue.answer == NOT_FOUND and dialogue.facts == ()
        assert 1 <= len(dialogue.passage) <= 4
        assert absent and not any(absent.lower() in sentence.lower() for sentence in dialogue.passage), sample
        if absent.endswith("."):  # the question's own sentence is missing from the passage
            styles["detail"] += 1
        else:  # a name, item or term the question mentions and the passage never does
            assert absent.lower() in dialogue.question.lower(), sample
            styles["value"] += 1
    assert styles["detail"] > 0.2 * len(missing) and styles["value"] > 0.4 * len(missing)
    assert sum(d.answer == NOT_FOUND for d in (s.dialogue for s in samples) if d.kind != "not_found") == 0


def test_the_mix_of_kinds_domains_and_questions(dialogues: list[Dialogue]) -> None:
    kinds = collections.Counter(d.kind for d in dialogues)
    for kind, target in TARGETS.items():
        assert abs(100 * kinds[kind] / len(dialogues) - target) <= 5, (kind, kinds)
    assert set(kinds) == set(TARGETS)
    domains = collections.Counter(d.domain for d in dialogues)
    assert len(domains) >= 24 and min(domains.values()) > 0.4 * len(dialogues) / len(domains)
    assert len({d.question for d in dialogues}) >= 0.8 * len(dialogues)
    assert len({d.title for d in dialogues}) > 100 and sum(d.heading == "" for d in dialogues) > 0


def test_follow_ups_rest_on_earlier_turns(dialogues: list[Dialogue]) -> None:
    follow_ups = [d for d in dialogues if d.kind == "followup"]
    assert {len(d.earlier) for d in follow_ups} == {1, 2}
    for dialogue in follow_ups:
        for message, reply in dialogue.earlier:
            assert message and reply.endswith(".") and reply != _core(dialogue.answer)
    assert all(d.earlier == () for d in dialogues if d.kind != "followup")
    shown = sum(any(reply in d.passage for _, reply in d.earlier) for d in follow_ups)
    assert 0.2 * len(follow_ups) < shown < 0.8 * len(follow_ups)


def test_passages_hold_one_to_five_sentences_with_the_answer_anywhere(dialogues: list[Dialogue]) -> None:
    sizes = collections.Counter(len(d.passage) for d in dialogues)
    assert set(sizes) == {1, 2, 3, 4, 5}
    positions = collections.Counter(
        _answering(d)[0] for d in dialogues if d.kind in ("direct", "yes", "no", "followup")
    )
    assert set(positions) == {0, 1, 2, 3, 4}
    assert positions[0] < 0.6 * sum(positions.values())
    assert all(len(set(d.passage)) == len(d.passage) for d in dialogues)


def test_questions_carry_customer_noise(dialogues: list[Dialogue]) -> None:
    questions = [d.question for d in dialogues]
    lower = sum(q == q.lower() for q in questions)
    greeted = sum(bool(re.match(r"(?i)(hi|hello|hey|good morning|good evening|morning)\b", q)) for q in questions)
    unpunctuated = sum(not q.rstrip().endswith(("?", ".", "!")) for q in questions)
    for count in (lower, greeted, unpunctuated):
        assert 0.05 * len(questions) < count < 0.6 * len(questions)
    assert sum(bool(re.search(r"\bi\b", q)) for q in questions) > 0.01 * len(questions)  # "I" only ever lowercased


def test_the_templates_are_broad_and_checked() -> None:
    domains = corpus.domains()
    assert len(domains) >= 24
    for domain in domains:
        assert len(domain.facts) >= 8, domain.name
        assert all(len(fact.questions) + len(fact.polar) >= 3 for fact in domain.facts), domain.name
        assert sum(fact.negated and bool(fact.polar) for fact in domain.facts) >= 2, domain.name
        assert domain.followups and domain.absent, domain.name
    bad = [
        {"domain": "x", "titles": ["T"], "facts": [{"id": "a", "s": "It costs {price}.", "q": ["{colour}?"]}]},
        {"domain": "x", "titles": ["T"], "facts": [{"id": "a", "s": "It costs {price}.", "q": ["Is it {days}?"]}]},
        {"domain": "x", "titles": ["T"], "facts": [{"id": "a", "s": "It is free.", "yn": ["Free, is it?"]}]},
        {"domain": "x", "titles": ["T"], "facts": [{"id": "a", "s": ["It is free.", "It is not free."]}]},
    ]
    for raw in bad:
        with pytest.raises(ValueError):
            corpus._domain(raw)


def test_fifty_thousand_dialogues_take_seconds() -> None:
    started = time.perf_counter()
    assert len(corpus.generate(10_000, seed=2)) == 10_000
    assert time.perf_counter() - started < 8  # ~1 s here: 50,000 in well under 20 s
