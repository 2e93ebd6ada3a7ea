"""Training dialogues for the offline responder, in exactly the transcript that serving uses
(generation/answering/prompt.py).

Four sources, mixed:
- the generated corpus (generation/responder/corpus.py): the skill itself — restate the
  sentence of a passage that answers the question, over many domains, so that it carries to a
  knowledge base the responder was never trained on;
- the operator's own articles: for each sentence, questions made of its rarest words, asked
  with the sentence among its neighbours, so the responder knows the base's words;
- answers staff approved in real conversations, asked with the evidence that retrieval finds for
  them today, kept where they restate that evidence as the gate demands;
- copy drills: a few sentences — the articles' own and the corpus's, some with their words
  shuffled — and a question made of a few words of one of them, answered with that sentence.
  A shuffled sentence cannot be guessed from what words usually follow each other, only copied,
  so the drills teach the copying itself, on the operator's words, and the responder then
  restates sentences unlike any in the corpus (a long real help centre's) instead of writing
  what the corpus made likely.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generation.answering import phrases
from generation.answering.gate import Restating
from generation.answering.prompt import HISTORY_TURNS, Snippet, Turn, transcript_text
from generation.knowledge.bm25 import STOPWORDS, tokenize
from generation.knowledge.passages import Outline, split_sentences
from generation.responder import corpus

# Neighbouring units shown beside the one a question is about, as evidence selection does.
MAX_NEIGHBOURS = 2
# Units too short to be an answer ("Yes.", a heading-like line) make no question.
MIN_UNIT_WORDS = 5
_CARRIES_ON = ("it ", "this ", "that ", "these ", "those ", "they ", "otherwise", "however", "but ", "if not")
_WORD_QUESTIONS = (
    "{words}?",
    "what about {words}?",
    "can you tell me about {words}",
    "question about {words}",
    "{words} - how does that work?",
    "I need info on {words}",
)


@dataclass(frozen=True)
class Example:
    """One training dialogue: ``prompt`` is context (no loss), ``answer`` is learnt."""

    prompt: str
    answer: str


def render(title: str, heading: str, passage: Sequence[str], turns: Sequence[Turn]) -> str:
    """The serving transcript for ``passage`` (the evidence) and the conversation ``turns``."""
    return transcript_text([Snippet(title, " ".join(passage), heading)], list(turns)[-HISTORY_TURNS:])


def corpus_examples(count: int, *, seed: int) -> list[Example]:
    """``count`` dialogues of the generated corpus, as transcripts."""
    examples = []
    for dialogue in corpus.generate(count, seed=seed):
        turns = [
            Turn(role, text)
            for pair in dialogue.earlier
            for role, text in zip(("customer", "assistant"), pair, strict=True)
        ]
        turns.append(Turn("customer", dialogue.question))
        examples.append(Example(render(dialogue.title, dialogue.heading, dialogue.passage, turns), dialogue.answer))
    return examples


def _rare_words(unit: str, document_frequency: Counter[str], rng: random.Random) -> str:
    """Two to four of ``unit``'s rarest words, in their order in the unit (a customer's terse
    way of asking about it)."""
    words = [w.strip(".,;:!?()\"'").lower() for w in unit.split()]
    words = [w for w in words if w and w not in STOPWORDS and w.isalpha() and len(w) > 2]
    ranked = sorted(set(words), key=lambda w: (document_frequency[w], w))
    keep = set(ranked[: rng.randint(2, 4)])
    return " ".join(dict.fromkeys(w for w in words if w in keep))


def article_examples(
    articles: Sequence[tuple[str, Outline]], *, per_unit: int = 1, seed: int = 11, not_found: float = 0.15
) -> list[Example]:
    """Questions about the units of the operator's articles (``(title, outline)`` pairs), asked
    with the unit among up to ``MAX_NEIGHBOURS`` neighbours of its section; the answer restates
    the unit, and the next one too when that one carries on from it ("It ...", "This ...").
    A share ``not_found`` of them is asked with the neighbours alone, none of which holds the
    question's words: those answer ``phrases.NOT_FOUND``, so the responder learns on the
    base's own sentences when they do not answer."""
    rng = random.Random(seed)
    frequency: Counter[str] = Counter()
    for _, shape in articles:
        for unit in shape.units:
            frequency.update(set(tokenize(unit)))
    examples = []
    for title, shape in articles:
        for position, unit in enumerate(shape.units):
            if len(unit.split()) < MIN_UNIT_WORDS:
                continue
            section = [i for i, h in enumerate(shape.headings) if h == shape.headings[position]]
            for _ in range(per_unit):
                words = _rare_words(unit, frequency, rng)
                if not words:
                    continue
                question = rng.choice(_WORD_QUESTIONS).format(words=words)
                turns = [Turn("customer", question)]
                near = [i for i in section if 0 < abs(i - position) <= MAX_NEIGHBOURS]
                if rng.random() < not_found:
                    asked = set(tokenize(words))
                    shown = [shape.units[i] for i in near if not asked & set(tokenize(shape.units[i]))]
                    if shown:
                        examples.append(
                            Example(render(title, shape.headings[position], shown, turns), phrases.NOT_FOUND)
                        )
                    continue
                picked = sorted([position, *rng.sample(near, rng.randint(0, len(near)))])
                shown = [shape.units[i] for i in picked]
                answer = unit
                following = position + 1
                if following in picked and shape.units[following].lower().startswith(_CARRIES_ON):
                    answer = f"{unit} {shape.units[following]}"
                examples.append(Example(render(title, shape.headings[position], shown, turns), answer))
    return examples


def copy_drills(sentences: Sequence[str], count: int, *, seed: int = 13, shuffled: float = 0.5) -> list[Example]:
    """``count`` drills over ``sentences`` (see the module docstring); ``shuffled`` is the share
    of shown sentences whose words are put in random order."""
    rng = random.Random(seed)
    pool = [s for s in sentences if len(s.split()) >= MIN_UNIT_WORDS]
    if len(pool) < 2:
        return []
    examples = []
    for _ in range(count):
        shown = []
        for sentence in rng.sample(pool, rng.randint(2, min(4, len(pool)))):
            if rng.random() < shuffled:
                words = sentence.rstrip(".!?").split()
                rng.shuffle(words)
                sentence = " ".join(words) + "."
            shown.append(sentence)
        target = rng.choice(shown)
        words = target.rstrip(".!?").split()
        size = min(len(words), rng.randint(2, 5))
        start = rng.randint(0, len(words) - size)
        span = " ".join(words[start : start + size]).strip(",;:").lower()
        question = rng.choice(_WORD_QUESTIONS).format(words=span)
        examples.append(Example(render("Drill", "", shown, [Turn("customer", question)]), target))
    return examples


Evidence = Callable[[Sequence[Turn]], tuple[str, str, tuple[str, ...]] | None]


def approved_examples(
    approved: Sequence[tuple[Sequence[Turn], str]], evidence_for: Evidence
) -> tuple[list[Example], int]:
    """Approved answers (the turns before them, the answer) asked with the evidence that
    ``evidence_for`` finds for those turns today: ``(title, heading, units)`` or ``None``.
    Answers that do not restate that evidence (an agent's own words) teach a different skill
    and are left out; returns the examples and how many were left out."""
    examples = []
    skipped = 0
    for turns, answer in approved:
        found = evidence_for(turns)
        if found is None:
            skipped += 1
            continue
        title, heading, units = found
        verifier = Restating(units, turns[-1].text)
        sentences: list[str] = []
        for sentence in split_sentences(answer):
            if not verifier.check(sentence, sentences):
                break
            sentences.append(sentence)
        else:
            if sentences:
                examples.append(Example(render(title, heading, units, turns), " ".join(sentences)))
                continue
        skipped += 1
    return examples, skipped
