"""Generated support dialogues over generated help-centre passages: the responder's training corpus.

The responder learns a skill rather than an operator's articles: given a few sentences of a help-centre passage and
a customer's question, it writes a short answer that restates the sentence(s) that answer it. Every dialogue here
draws a fresh article from one of the domains in ``data/support_*.json`` (names, prices, durations and codes drawn
anew each time, so nothing can be learnt by heart), shows the answering sentence(s) among distractors from the same
article, and asks with a paraphrased, often noisy customer question. Answers copy the passage word for word, as the
fact gate demands, and lead with "Yes"/"No" only where the answer gate accepts one.

Template syntax (sentences, questions, titles and stories):
- ``{name}`` or ``{name:arg}`` is a slot; its type is the name without trailing digits (``price2`` is a price).
  Names and pool items are bound once per article, numbers, times and codes once per fact, so a question that
  names ``{price}`` repeats its sentence's price. ``arg`` is a range (``{days:3-10}``), a mailbox
  (``{email:returns}``) or a path (``{url:returns}``).
- ``{list:pool}`` lists 3-4 items of a pool; ``{in:pool}`` (in a question) names one of them; ``{out:type}`` names
  a pool item or a fresh name that the passage does not contain: the subject of a not-found question.
- ``{a|b|c}`` is one of the alternatives; ``[term]`` is literal text that no sentence of the domain mentions.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

from generation.answering import phrases
from generation.answering.gate import YES_NO_QUESTION, has_negation, is_yes_no_question, says_no
from generation.responder import slots
from generation.responder.slots import _MONTHS, _RANGES, _UNITS, _WEEKDAYS, NAMES, NUMBERS, OTHERS

NOT_FOUND = phrases.NOT_FOUND  # what a not-found dialogue answers: the bot's own words
# The policy decides whether evidence answers before the model runs, and never lets the model
# decline it; the not-found dialogues stay in the mix all the same: trained without them, the
# responder's answers held the same facts in longer replies (docs/benchmarks.md).
MIX = {"direct": 45, "yes": 12, "no": 10, "two": 8, "followup": 15, "not_found": 10}
# The answer gate's negations (generation.answering.gate): "No" leads only a sentence with one, "Yes" one without.
_TOKEN = re.compile(r"\{([^{}]*)\}|\[([^\[\]]*)\]")
_ORDINARY_WORD = re.compile(r"[A-Z][a-z']+(?:-[a-z]+)*|A")
_PUNCTUATION = re.compile(r"[?!.,]+(?=\s|$)")
_ASKING = re.compile(r"(?i)(how|what|when|where|which|who|why|can|could|do|does|is|are|will|should)\b")
_AUXILIARIES = frozenset({"could", "would", "should", "shall", "might"})  # never misspelt: they mark yes/no questions

Parts = tuple[tuple[str, ...], ...]
Values = dict[str, Any]  # a fact's own slot values (a list under "list:<pool>"), so that its questions repeat them
Turns = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Dialogue:
    """One training dialogue: a passage, the conversation so far, the customer's question and the reply to learn."""

    title: str
    heading: str
    passage: tuple[str, ...]
    question: str
    answer: str
    earlier: tuple[tuple[str, str], ...] = ()
    kind: str = "direct"
    facts: tuple[str, ...] = ()
    domain: str = ""


@dataclass(frozen=True)
class Sample:
    """A dialogue and, for a not-found one, the text its passage lacks (what the question asks about)."""

    dialogue: Dialogue
    absent: str = ""


@dataclass(frozen=True, eq=False)
class _Fact:
    id: str
    topic: str  # facts of one topic could answer each other's questions: never distractors for one another
    heading: str
    sentences: tuple[Parts, ...]
    questions: tuple[Parts, ...]  # answered by the sentence itself (what/how/when..., or yes/no it can't settle)
    polar: tuple[Parts, ...]  # yes/no questions that the sentence settles: Yes without a negation, No with one
    absent: tuple[Parts, ...]  # questions the sentence seems to, but does not, answer
    negated: bool


@dataclass(frozen=True, eq=False)
class _FollowUp:
    fact: _Fact
    after: tuple[_Fact, ...]  # the facts a customer may have asked about just before
    questions: tuple[Parts, ...]
    polar: tuple[Parts, ...]


@dataclass(frozen=True, eq=False)
class _Domain:
    name: str
    titles: tuple[Parts, ...]
    stories: tuple[Parts, ...]
    absent: tuple[Parts, ...]
    facts: tuple[_Fact, ...]
    followups: tuple[_FollowUp, ...]

    def having(self, test: Callable[[_Fact], object]) -> list[_Fact]:
        return [fact for fact in self.facts if test(fact)]


class _Retry(Exception):
    """The draw cannot make this dialogue (a pool ran out, a value collided): draw another."""


_data = slots.data


def _parse(template: str) -> Parts:
    parts: list[tuple[str, ...]] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        parts.append(("t", template[pos : match.start()]))
        body, term = match.groups()
        head, _, arg = (body or "").partition(":")
        if term is not None:
            parts.append(("k", term))
        elif "|" in body:
            parts.append(("a", *body.split("|")))
        else:
            special = head in ("list", "in", "out")
            parts.append((head[0], arg) if special else ("s", head, head.rstrip("0123456789"), arg))
        pos = match.end()
    parts.append(("t", template[pos:]))
    return tuple(part for part in parts if part != ("t", ""))


def _templates(
    raw: str | list[str] | None, where: str, bound: set[str] | None = None, polar: bool = False
) -> tuple[Parts, ...]:
    """``raw`` (a template or a list of them) parsed and checked: known slot types, alternatives that agree in
    negation, values a question repeats that its sentence has (``bound``), yes/no questions the gate takes as such."""
    out = []
    for template in [raw] if isinstance(raw, str) else raw or []:
        parts = _parse(template)
        for tag, *rest in parts:
            kind = rest[1] if tag == "s" else rest[0]
            if tag in "slio" and kind not in NAMES | NUMBERS | OTHERS | _data("pools.json").keys():
                raise ValueError(f"{where}: unknown slot type {kind!r} in {template!r}")
            if tag == "a" and len({has_negation(option) for option in rest}) > 1:
                raise ValueError(f"{where}: alternatives differ in negation in {template!r}")
            unbound = (tag == "s" and kind in NUMBERS | OTHERS and rest[0] not in bound) if bound is not None else False
            if unbound or (bound is not None and tag == "i" and f"list:{kind}" not in bound):
                raise ValueError(f"{where}: {template!r} names a value its sentence does not have")
        if polar and not YES_NO_QUESTION.match(template):
            raise ValueError(f"{where}: {template!r} does not read as a yes/no question")
        out.append(parts)
    return tuple(out)


def _bound(sentences: tuple[Parts, ...]) -> set[str]:
    """The slots every variant of a fact's sentence has: the values its questions may repeat."""
    slots = [{p[1] if p[0] == "s" else f"list:{p[1]}" for p in parts if p[0] in "sl"} for parts in sentences]
    return set.intersection(*slots)


def _domain(raw: dict[str, Any]) -> _Domain:
    name, facts, followups = raw["domain"], {}, []
    for item in raw["facts"]:
        where = f"{name}.{item['id']}"
        sentences = _templates(item["s"], where)
        negated = {has_negation(" ".join(str(p[1:]) for p in parts if p[0] in "ta")) for parts in sentences}
        if len(negated) > 1:
            raise ValueError(f"{where}: sentence variants differ in negation")
        bound, topic = _bound(sentences), item.get("t", item["id"])
        questions, polar = _templates(item.get("q"), where, bound), _templates(item.get("yn"), where, bound, True)
        absent = _templates(item.get("nf"), where, bound)
        facts[item["id"]] = _Fact(item["id"], topic, item.get("h", ""), sentences, questions, polar, absent, *negated)
    for item in raw["facts"]:
        fact = facts[item["id"]]
        for link in item.get("fu", ()):
            where, after = f"{name}.{fact.id} follow-up", [facts[key] for key in link["after"]]
            bound = _bound(fact.sentences)
            if any(not (earlier.questions or earlier.polar) or earlier is fact for earlier in after):
                raise ValueError(f"{where}: an earlier fact is this one or has no question to ask")
            questions, polar = _templates(link.get("q"), where, bound), _templates(link.get("yn"), where, bound, True)
            followups.append(_FollowUp(fact, tuple(after), questions, polar))
    titles, stories, absent = (_templates(raw.get(key), name) for key in ("titles", "stories", "absent"))
    return _Domain(name, titles, stories, absent, tuple(facts.values()), tuple(followups))


@cache
def domains() -> tuple[_Domain, ...]:
    """Every domain of ``data/support_*.json``, checked: unknown slots, unbound values and odd polarity fail here."""
    paths = sorted(path.name for path in slots.DATA_DIR.glob("support_*.json"))
    return tuple(_domain(raw) for name in paths for raw in _data(name)["domains"])


def _ordinary(text: str, names: Iterable[str] = ()) -> bool:
    """Whether ``text`` opens with an ordinary word, whose capital only marks the sentence's start."""
    word = text.split(" ", 1)[0].rstrip(",;:")
    if not _ORDINARY_WORD.fullmatch(word) or word in _data("language.json")["proper_words"]:
        return False
    return not any(text.startswith(name) for name in names if name[:1].isupper())


def _lower_first(text: str, names: Iterable[str] = ()) -> str:
    return text[0].lower() + text[1:] if _ordinary(text, names) else text


def polar_answer(sentence: str, names: Iterable[str] = ()) -> str:
    """``sentence`` led by "Yes, " or "No, " (``says_no``), its first letter lowercased unless a name
    opens it (one sentence, as the answer gate reads it)."""
    lead = "No" if says_no(sentence) else "Yes"
    return f"{lead}, {_lower_first(sentence, names)}"


def asks_yes_no(question: str) -> bool:
    """Whether the answer gate takes ``question`` for a yes/no one (and so lets a reply lead with Yes or No)."""
    return is_yes_no_question(question)


def _invent(rng: random.Random, kind: str) -> str:
    """A capitalised name of ``kind`` that reads as no negation ("Nota" would)."""
    return slots.invent(rng, kind, reject=has_negation)


class _Article:
    """One generated article of a domain: names, currency and formats drawn once, each fact's sentence on demand."""

    def __init__(self, rng: random.Random, domain: _Domain) -> None:
        self.rng, self.domain, self.words, self.pools = rng, domain, _data("language.json"), _data("pools.json")
        self.currency = rng.choice(("$", "$", "€", "£"))
        self.clock24, self.day_first = rng.random() < 0.3, rng.random() < 0.5
        self.bound: dict[str, str] = {}
        self.slug = re.sub(r"[^a-z]", "", self.name("company", "company").lower())
        self.cache: dict[str, tuple[str, tuple[str, ...], Values]] = {}

    def name(self, slot: str, kind: str) -> str:
        """The article's value for a name or pool slot, different from its other values."""
        while slot not in self.bound or list(self.bound.values()).count(self.bound[slot]) > 1:
            self.bound[slot] = _invent(self.rng, kind) if kind in NAMES else self.rng.choice(self.pools[kind])
        return self.bound[slot]

    def outside(self, kind: str, avoid: str) -> str:
        """A pool item or fresh name that ``avoid`` (a passage, lowercased) and the article's names lack."""
        if kind in NAMES:
            while (name := _invent(self.rng, kind)).lower() in avoid:
                pass
            return name
        options = [item for item in self.pools[kind] if item.lower() not in avoid and item not in self.bound.values()]
        if not options:
            raise _Retry
        return self.rng.choice(options)

    def draw(self, kind: str, arg: str) -> str:
        """A fresh value of a number, time or code slot, in this article's currency and formats."""
        rng = self.rng
        codes = {
            "email": lambda: f"{arg or 'help'}@{self.slug}.example",
            "url": lambda: f"https://{self.slug}.example/{arg or 'help'}",
            "phone": lambda: f"555-01{rng.randrange(100):02d}",
            "ussd": lambda: f"*{rng.randint(100, 999)}#",
            "ref": lambda: f"{rng.choice(self.words['ref_prefixes'])}-{rng.randint(100, 999)}",
            "promo": lambda: rng.choice(self.words["promo_words"]) + str(rng.randint(1, 6) * 5),
            "day": lambda: rng.choice(_WEEKDAYS),
            "date": lambda: f"{rng.randint(1, 28)} {rng.choice(_MONTHS)}",
        }
        if kind in codes:
            value = codes[kind]()
            return " ".join(reversed(value.split())) if kind == "date" and not self.day_first else value
        lo, hi = (int(x) for x in arg.split("-")) if "-" in arg else _RANGES[kind]
        value = rng.randint(lo, hi)
        if kind == "time":
            minute = rng.choice((0, 0, 0, 0, 30, 30, 15, 45))
            if self.clock24:
                return f"{value:02d}:{minute:02d}"
            clock, half = value % 12 or 12, "am" if value < 12 else "pm"
            return f"{clock}:{minute:02d} {half}" if minute else f"{clock} {half}"
        if kind == "price":
            cents = (
                0 if rng.random() < 0.6 or value >= 100 else rng.choice((99, 50, 95, 49, 25, 75, rng.randint(1, 98)))
            )
            cents = cents or (rng.choice((10, 15, 20, 25, 30, 40, 50)) if value == 0 else 0)
            return f"{self.currency}{value:,}" + (f".{cents:02d}" if cents else "")
        if kind in _UNITS:
            return f"{value} {_UNITS[kind] if value == 1 else kind}"
        return f"{value}%" if kind == "pct" else f"{value} GB" if kind == "gb" else str(value)

    def render(self, parts: Parts, values: Values, avoid: str = "") -> tuple[str, list[str], str]:
        """The text of ``parts``, the slot values it shows (in order) and, for a not-found question, its subject."""
        rng, out, shown, absent = self.rng, [], [], ""
        for tag, *rest in parts:
            if tag == "t":
                out.append(rest[0])
            elif tag == "a":
                out.append(rng.choice(rest))
            elif tag in "ko":
                out.append(absent := rest[0] if tag == "k" else self.outside(rest[0], avoid))
            elif tag == "i":
                out.append(rng.choice(values[f"list:{rest[0]}"]))
            elif tag == "l":
                pool = [item for item in self.pools[rest[0]] if item not in self.bound.values()]
                items = values.setdefault(f"list:{rest[0]}", rng.sample(pool, rng.choice((3, 3, 4))))
                out.append(", ".join(items[:-1]) + " and " + items[-1])
                shown.extend(items)
            else:
                slot, kind, arg = rest
                if kind in NAMES or kind in self.pools:
                    value = self.name(slot, kind)
                else:
                    while slot not in values:  # a fact's values differ from each other ("Mondays and Fridays")
                        if (value := self.draw(kind, arg)) not in values.values():
                            values[slot] = value
                    value = values[slot]
                out.append(value)
                shown.append(value)
        return "".join(out), shown, absent

    def sentence(self, fact: _Fact) -> tuple[str, tuple[str, ...], Values]:
        """``fact``'s sentence in this article (drawn once), the slot values it shows and its values for questions."""
        if fact.id not in self.cache:
            values: Values = {}
            text, shown, _ = self.render(self.rng.choice(fact.sentences), values)
            if has_negation(text) != fact.negated:
                raise _Retry  # a drawn value brought (or hid) a negation
            self.cache[fact.id] = (text, tuple(shown), values)
        return self.cache[fact.id]

    def ask(self, options: tuple[Parts, ...], fact: _Fact | None = None, avoid: str = "") -> tuple[str, str]:
        """One of ``options`` rendered with ``fact``'s values: (the question, what it asks that ``avoid`` lacks)."""
        text, _, absent = self.render(self.rng.choice(options), self.sentence(fact)[2] if fact else {}, avoid)
        return text, absent

    def noisy(self, question: str, *, polar: bool = False, opening: bool = True, keep: str = "") -> str:
        """``question`` as customers type it (lead-ins, stories, greetings, typos, case, punctuation); a yes/no
        question stays one to the answer gate, and words of ``keep`` stay as they are."""
        rng, words, shaped = self.rng, self.words, polar or asks_yes_no(question)
        if rng.random() < (0.15 if opening else 0.45):  # "Quick question: ...", or "ok, and ..." in a follow-up
            leads = words["leads"][(not opening) + 2 * shaped]  # "Can you tell me" only before a real question
            lead = rng.choice([lead for lead in leads if lead.endswith(": ") or _ASKING.match(question)] or leads)
            question = lead + (question if lead.endswith((". ", "! ")) else _lower_first(question))
        if opening and not polar and self.domain.stories and rng.random() < 0.14:
            story = self.ask(self.domain.stories)[0]
            joiner = rng.choice((". ", ". ", " and ", ", ") if _ASKING.match(question) else (". ",))
            question = story[0].upper() + story[1:] + joiner + (question if joiner == ". " else _lower_first(question))
        if opening and rng.random() < 0.22:
            greeting = rng.choice(words["greetings"] if polar else words["greetings"] + words["openers"])
            question = greeting + (question if greeting.endswith("! ") else _lower_first(question))
        if rng.random() < 0.08:
            question += rng.choice(words["thanks"])
        if rng.random() < 0.16:  # a swapped, dropped or doubled letter in one or two longer words
            tokens = question.split(" ")
            spots = [i for i, w in enumerate(tokens) if len(w) > 4 and w.isalpha() and w.islower()]
            spots = [i for i in spots if tokens[i] not in keep and tokens[i] not in _AUXILIARIES]
            for i in rng.sample(spots, min(len(spots), rng.choice((1, 1, 2)))):
                w, j = tokens[i], rng.randrange(1, len(tokens[i]) - 1)
                tokens[i] = rng.choice((w[:j] + w[j + 1] + w[j] + w[j + 2 :], w[:j] + w[j + 1 :], w[:j] + w[j] + w[j:]))
            question = " ".join(tokens)
        if rng.random() < 0.3:
            question = question.lower()
        if rng.random() < 0.2:
            question = _PUNCTUATION.sub("", question)
        if polar and not asks_yes_no(question):
            raise _Retry
        return question

    def passage(self, answers: list[_Fact], exclude: set[str], most: int = 5) -> list[_Fact]:
        """``answers`` among 0-4 distractors of other topics (``most`` sentences at most), in a random order."""
        pool = [fact for fact in self.domain.facts if fact.topic not in exclude and fact not in answers]
        extra = min(len(pool), most - len(answers), self.rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)))
        chosen = answers + self.rng.sample(pool, extra)
        self.rng.shuffle(chosen)
        return chosen

    def dialogue(self, chosen: list[_Fact], answers: list[_Fact], question: str, answer: str, **extra: Any) -> Dialogue:
        """The dialogue over ``chosen`` (the passage) whose answer restates ``answers``; ``extra``: kind, earlier."""
        texts = tuple(self.sentence(fact)[0] for fact in chosen)
        facts = dict.fromkeys(value for fact in chosen if fact in answers for value in self.sentence(fact)[1] if value)
        heading = (answers or chosen)[0].heading if self.rng.random() < 0.7 else ""
        title = self.ask(self.domain.titles)[0]
        return Dialogue(title, heading, texts, question, answer, facts=tuple(facts), domain=self.domain.name, **extra)


def _direct(art: _Article) -> Sample:
    fact = art.rng.choice(art.domain.having(lambda f: f.questions))
    question = art.noisy(art.ask(fact.questions, fact)[0])
    return Sample(art.dialogue(art.passage([fact], {fact.topic}), [fact], question, art.sentence(fact)[0]))


def _yes_no(art: _Article, negated: bool) -> Sample | None:
    options = art.domain.having(lambda f: f.polar and f.negated == negated)
    if not options:
        return None
    fact = art.rng.choice(options)
    text, shown, _ = art.sentence(fact)
    question = art.noisy(art.ask(fact.polar, fact)[0], polar=True)
    chosen = art.passage([fact], {fact.topic})
    return Sample(art.dialogue(chosen, [fact], question, polar_answer(text, shown), kind="no" if negated else "yes"))


def _two(art: _Article) -> Sample | None:
    first, second = art.rng.sample(art.domain.having(lambda f: f.questions), 2)
    if first.topic == second.topic:
        return None
    a, b = art.ask(first.questions, first)[0].rstrip("?. "), art.ask(second.questions, second)[0]
    question = art.noisy(art.rng.choice(art.words["pairs"]).format(a=a, b=_lower_first(b), B=b))
    chosen = art.passage([first, second], {first.topic, second.topic})
    answer = " ".join(art.sentence(fact)[0] for fact in chosen if fact in (first, second))
    return Sample(art.dialogue(chosen, [first, second], question, answer, kind="two"))


def _followup(art: _Article) -> Sample | None:
    if not art.domain.followups:
        return None
    rng = art.rng
    link = rng.choice(art.domain.followups)
    fact, before = link.fact, rng.choice(link.after)
    earlier = [before]
    others = art.domain.having(lambda f: f.questions and f.topic not in (fact.topic, before.topic))
    if others and rng.random() < 0.35:
        earlier.insert(0, rng.choice(others))
    turns = tuple(
        (art.noisy(art.ask(f.questions or f.polar, f)[0], opening=f is earlier[0]), art.sentence(f)[0]) for f in earlier
    )
    polar = bool(link.polar) and (not link.questions or rng.random() < 0.5)
    question = art.noisy(art.ask(link.polar if polar else link.questions, fact)[0], polar=polar, opening=False)
    text, shown, _ = art.sentence(fact)
    chosen = art.passage([fact, before] if rng.random() < 0.5 else [fact], {fact.topic, before.topic})
    answer = polar_answer(text, shown) if polar else text
    return Sample(art.dialogue(chosen, [fact], question, answer, kind="followup", earlier=turns))


def _not_found(art: _Article) -> Sample | None:
    rng, domain, mode = art.rng, art.domain, art.rng.random()
    hard = domain.having(lambda f: f.absent)
    if mode < 0.35 and domain.absent:  # about something the domain never mentions
        chosen = rng.sample(domain.facts, rng.randint(1, 4))
        avoid = " ".join(art.sentence(fact)[0] for fact in chosen).lower()
        question, absent = art.ask(domain.absent, None, avoid)
    elif mode < 0.65 and hard:  # about a name or item next to the ones the passage names
        fact = rng.choice(hard)
        chosen = art.passage([fact], {fact.topic}, rng.randint(1, 4))
        avoid = " ".join(art.sentence(fact)[0] for fact in chosen).lower()
        question, absent = art.ask(fact.absent, fact, avoid)
    else:  # about a detail whose sentence the passage lacks
        fact = rng.choice(domain.having(lambda f: f.questions))
        others = domain.having(lambda f: f.topic != fact.topic)
        chosen = rng.sample(others, rng.randint(1, min(4, len(others))))
        question, absent = art.ask(fact.questions, fact)[0], art.sentence(fact)[0]
    if any(absent.lower() in art.sentence(fact)[0].lower() for fact in chosen):
        return None
    question = art.noisy(question, keep=absent if absent in question else "")  # the subject keeps its spelling
    return Sample(art.dialogue(chosen, [], question, NOT_FOUND, kind="not_found"), absent)


_BUILDERS: dict[str, Callable[[_Article], Sample | None]] = {
    "direct": _direct,
    "yes": lambda art: _yes_no(art, False),
    "no": lambda art: _yes_no(art, True),
    "two": _two,
    "followup": _followup,
    "not_found": _not_found,
}


def samples(count: int, *, seed: int) -> list[Sample]:
    """``count`` dialogues with their not-found subjects, the same for the same seed, over all domains and kinds."""
    rng, pool = random.Random(seed), domains()
    kinds, weights = list(MIX), list(accumulate(MIX.values()))
    out: list[Sample] = []
    while len(out) < count:
        kind = rng.choices(kinds, cum_weights=weights)[0]
        for _ in range(200):
            try:
                sample = _BUILDERS[kind](_Article(rng, rng.choice(pool)))
            except _Retry:
                sample = None
            if sample is not None:
                out.append(sample)
                break
        else:
            raise RuntimeError(f"no domain can make a {kind!r} dialogue")
    return out


def generate(count: int, *, seed: int) -> list[Dialogue]:
    """``count`` dialogues, the same for the same seed, drawn over all domains and kinds."""
    return [sample.dialogue for sample in samples(count, seed=seed)]
