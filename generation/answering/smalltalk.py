"""Small talk, recognised only when it is small talk, and answered with a fixed reply.

A message is small talk when it is short, every content word in it is a small-talk word
("hello", "thanks", "bye", "robot"...), and it is close to one of the exemplars below; its
category picks the reply (generation/answering/phrases.py). So "How much is the fine for a
late return?" is never taken for small talk, and small talk never gets generated text that
means nothing. A bare "yes" or "no" is told by its first word, and a message that only thanks
("ty", "cheers mate") by its words; a word stretched for warmth ("thankss", "hiii", "byeee")
counts as the word it stretches. A message that only says the customer has a question or a
problem ("quick question", "can you help me with my order?") is asked for it: answering it with
a passage, or handing it to a person, would be premature; so is one that only asks for help ("I
wonder if you could help", "can I ask you something?"). What only wraps a question (a greeting,
such a plea, closing thanks) is taken off it before it is answered (``unwrapped``).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from generation.knowledge.bm25 import STOPWORDS, tokenize
from generation.knowledge.edits import stretched_readings

_WORD = re.compile(r"[a-z']+")

EXEMPLARS: dict[str, tuple[str, ...]] = {
    "greeting": (
        "Hello",
        "Hi there",
        "Good morning",
        "Hey",
        "Good evening",
        "Is anyone there?",
        "Hello?",
        "Hi, I have a question",
    ),
    "wellbeing": ("How are you?", "Hey, how are you doing today?", "How's it going?"),
    "thanks": (
        "Thank you",
        "Thanks a lot, that helps",
        "Great, thanks!",
        "Cheers",
        "Perfect, thank you so much",
        "Ok, thank you",
        "thx",
        "Thanks, that answers my question",
        "Thank you so much for your help",
        "Yes, thank you",
    ),
    "goodbye": (
        "Goodbye",
        "Bye, have a nice day",
        "See you",
        "That's all, bye",
        "That's all I needed",
    ),
    "identity": ("Who are you?", "Are you a robot?", "Am I talking to a bot?", "What's your name?"),
    "acknowledgement": ("ok", "cool", "alright", "got it", "great"),
}
# A "yes" or "no" is told by its first word: MiniLM puts "no" next to "yes".
_YES = frozenset({"yes", "yeah", "yep", "yup", "sure"})
_NO = frozenset({"no", "nope", "nah"})
# A message that only thanks, or thanks and says goodbye, is told by its words: "cool thanks!!",
# "ty", "thanks mate", "brilliant, cheers" (MiniLM puts some of these under any exemplar's
# reach, and "tysm" next to "hello").
_THANKS = frozenset("thank thanks thx ty tysm tyvm thanx thnx ta cheers appreciate appreciated".split())
_BYE = frozenset({"bye", "goodbye", "cya"})
_THANKS_ONLY = (
    _THANKS
    | _BYE
    | frozenset(
        """ok okay cool great perfect brilliant lovely awesome nice super one mate so much very a lot you u
        that that's thats for your the help helps helped all again really got it""".split()
    )
)
# ... and one that only says the customer has read the answer ("ok got it", "haha ok", "noted").
_UNDERSTOOD = frozenset(
    "ok okay k kk cool great alright got it gotcha lol haha hehe fine noted understood perfect".split()
)
# Words small talk is made of (beyond tokenize's stopwords), compared as tokenize stems them
# ("goodbye" -> "goodby", "morning" -> "morn").
_WORDS_TEXT = """hello hiya howdy morning afternoon evening night day good great nice lovely fine thank thanks
    cheer cheers appreciate appreciated lot bye goodbye see later soon perfect awesome cool ok okay alright
    right sure got anyone anybody someone somebody robot bot machine human real talking doing going name
    doing well today help helpful helped wonderful amazing brilliant excellent super kind welcome thx ty
    tysm tyvm thanx thnx ta much yeah yep yup nope nah everything needed question answered answers mate u ya
    cya one k kk gotcha lol haha hehe noted understood"""
WORDS = frozenset(tokenize(_WORDS_TEXT))
# The words a small-talk message is written in, as typed: a word stretched for warmth
# ("thankss", "hiii", "byeee", "noooo", "thank youuu") is read as the one of these it stretches.
_PLAIN_WORDS = frozenset(
    [*_WORDS_TEXT.split(), *STOPWORDS, *_YES, *_NO]
    + [w for texts in EXEMPLARS.values() for text in texts for w in _WORD.findall(text.lower())]
)
_LETTERS = re.compile(r"[A-Za-z]+")
# A message of kind signs alone, a thumbs up or a smile ("👍", ":)", "🙏🏻"), says it was read.
# (An angry face is no thanks: it goes on, to be handed to a person.)
_KIND_SIGNS = re.compile(
    "^[\\s!.]*(?:(?:[\U0001f44d\U0001f44c\U0001f64f\U0001f64c\U0001f44f\U0001f60a\U0001f642\U0001f600-\U0001f604"
    "\U0001f609\u2764\u2665\u2705\ufe0f\U0001f3fb-\U0001f3ff]|[:;]-?[)D])[\\s!.]*)+$"
)
# A letter typed twice stretches a small-talk word already ("thankss", "hii").
TYPED_AGAIN = 2
MAX_WORDS = 9
MIN_COSINE = 0.62

_cache: dict[str, tuple[list[str], np.ndarray]] = {}


def _exemplars(embedder: Any) -> tuple[list[str], np.ndarray]:
    if embedder.name not in _cache:
        labels = [label for label, texts in EXEMPLARS.items() for _ in texts]
        _cache[embedder.name] = (labels, embedder.encode([t for texts in EXEMPLARS.values() for t in texts]))
    return _cache[embedder.name]


_HELLO = r"hi|hello|hey|good (?:morning|afternoon|evening)"
_GREETING = rf"^\W*(?:(?:{_HELLO})(?: there)?\W+)?"
_ABOUT = r"(?:\s+(?:about|with|regarding|on|for)\s+[\w' -]{1,40}?)?(?:\W+please)?\W*$"
# "I wonder if you could help", "I'm hoping someone can help me", "can I ask you something?",
# "I'd like to ask a question", "are you able to help me?", "is there anyone who can help?".
_WHO = r"(?:you|u|someone|somebody|anyone|anybody)"
_CAN = r"(?:can|could|might|will|would)(?: be able to)?"
_HELP_ASKED = (
    rf"(?:i(?:'m| am| was)? )?wonder(?:ing|ed)? if {_WHO} {_CAN} (?:help|assist)(?: me)?"
    rf"|(?:i(?:'m| am| was)? )?hop(?:e|ing) {_WHO} {_CAN} (?:help|assist)(?: me)?"
    r"|(?:can|could|may) i ask (?:you )?(?:a (?:quick |small |simple )?question|something|a few things)"
    r"|i(?:'d| would)? (?:want|wanted|like|need) to ask(?: you)?(?: a (?:quick |small )?question| something)?"
    r"|(?:are|r) (?:you|u) able to (?:help|assist)(?: me)?"
    rf"|is there {_WHO}(?: there)?(?: who| that)? {_CAN} (?:help|assist)(?: me)?"
)
# "quick question", "I have a question about my bill", "can you help me with my order?": the
# customer says what they want to ask about, not yet what they want to know.
_ANNOUNCES_QUESTION = re.compile(
    _GREETING + r"(?:(?:i(?:'ve| have)(?: got)?|got|i've got)\s+(?:a|one|another|two|a few|some)?\s*"
    r"(?:quick\s+|small\s+|simple\s+)?(?:questions?|query|queries)|(?:a\s+)?quick question|question|"
    r"(?:can|could) (?:you|u|someone|anyone) (?:please )?(?:help|assist)(?: me)?"
    r"|(?:i )?need (?:some |a little |your )?(?:help|assistance)|(?:please )?help(?: me)?"
    r"|i(?:'d| would) like (?:some )?(?:help|assistance)|" + _HELP_ASKED + r")" + _ABOUT,
    re.IGNORECASE,
)
_ANNOUNCES_PROBLEM = re.compile(
    _GREETING + r"(?:i(?:'ve| have)(?: got)?|there(?:'s| is)|got)\s+(?:a|an|one|another|some)?\s*"
    r"(?:small\s+|big\s+|serious\s+)?(?:problem|issue)s?" + _ABOUT,
    re.IGNORECASE,
)


def announces(text: str) -> str | None:
    """ "question" or "problem" where ``text`` only says the customer has one ("quick question",
    "I have a problem with my order"), to be asked for it rather than answered or handed over."""
    if _ANNOUNCES_PROBLEM.match(text):
        return "problem"
    if _ANNOUNCES_QUESTION.match(text):
        return "question"
    return None


# A greeting before the message ("Hi there,", "Good afternoon.", "Dear team,"); a sentence that only
# asks for help, says a question follows or is kind ("I wonder if you could help.", "Quick
# question -", "Hope you're well."); thanks that close it ("Many thanks, Janet").
_OPENING_GREETING = re.compile(
    rf"^\W*(?:{_HELLO}|hiya|dear (?:team|sir or madam|sir|madam|all))"
    r"(?: (?:there|all|team|again)(?=\s*[,.!:;-]))?[\s,.!:;-]+",
    re.IGNORECASE,
)
# What is left must still be a message ("Hi, refund policy?" stays whole; "ok, thanks" is thanks).
MIN_UNWRAPPED_WORDS = 3
_FIRST_SENTENCE = re.compile(r"^(.+?(?:[.!?:;]|\s[-\u2013\u2014]))\s+(?=\S)", re.DOTALL)
# Kind words before the question: "hope you're well", "how are you today?".
_PLEASANTRY = re.compile(
    r"^\W*(?:(?:i )?hope (?:you(?:'re| are)|you all are|all is|this finds you) (?:doing )?(?:well|good|ok|okay)"
    r"|how are (?:you|u)(?: doing)?(?: today)?)\W*$",
    re.IGNORECASE,
)
_CLOSING_THANKS = re.compile(
    r"(?:^|(?<=[.!?,]))\s*(?i:many thanks|thanks(?: so much| a lot)?|thank you(?: so much| very much)?"
    r"|cheers|(?:kind |best |warm )?regards|best wishes)(?i:(?: in advance)?(?: for (?:all )?(?:your|any|the) help)?)"
    r"(?:[\s,.!-]+[A-Z][a-z]+(?: [A-Z][a-z]+)?)?[\s.!]*$"
)


# A last sentence that only asks for the answer: "Any help appreciated.", "Please advise.",
# "Let me know", "Hope you can help."
_LAST_SENTENCE = re.compile(r"(?<=[.!?])\s+([^.!?]+[.!?]*)\s*$")
_CLOSING_PLEA = re.compile(
    r"^\W*(?:(?:any|all) help (?:would be |is )?(?:much |greatly |really )?appreciated|(?:please )?advise"
    r"|(?:please |pls |plz )?let (?:me|us) know(?: asap| please)?|(?:i )?hope (?:you|someone) can help(?: me)?)\W*$",
    re.IGNORECASE,
)


# What an announced question is about ("I have a problem with my order."): the question after
# it may speak of it ("It arrived damaged"), so that sentence stays.
_NAMES_ABOUT = re.compile(r"\b(?:about|with|regarding|on|for)\s+(?!(?:this|that|something|it)\b)\w", re.IGNORECASE)


def only_announces(sentence: str) -> bool:
    """Whether ``sentence`` only asks for help or says a question follows, naming nothing."""
    return announces(sentence) is not None and not _NAMES_ABOUT.search(sentence)


def unwrapped(text: str) -> str:
    """``text`` without what only wraps the message: a greeting before it ("Hi there, ..."), a
    first sentence that only asks for help or is kind ("Hello, I wonder if you could help. My
    card...", "Hope you're well."), and thanks or a plea for the answer after it ("... Any help
    appreciated. Many thanks, Janet"). Search, spelling and the answer then see what the
    customer asks, as they would had it come alone; a message that is nothing but wrapping is
    kept whole, to be told as small talk or as a question announced."""
    rest = text.strip()
    while True:
        greeting = _OPENING_GREETING.match(rest)
        sentence = _FIRST_SENTENCE.match(rest)
        if greeting and greeting.end() < len(rest):
            rest = rest[greeting.end() :]
        elif sentence and (only_announces(sentence.group(1)) or _PLEASANTRY.match(sentence.group(1))):
            rest = rest[sentence.end() :]
        else:
            break
    while True:
        closing = _CLOSING_THANKS.search(rest)
        last = _LAST_SENTENCE.search(rest)
        if closing and closing.start() > 0:
            rest = rest[: closing.start()].rstrip(" ,")
        elif last and _CLOSING_PLEA.match(last.group(1)):
            rest = rest[: last.start()]
        else:
            break
    return rest if len(rest.split()) >= MIN_UNWRAPPED_WORDS else text


def _unstretched(match: re.Match[str]) -> str:
    """The small-talk word (``_PLAIN_WORDS``) the word ``match`` stretches, each of its runs of
    one letter typed once or twice ("hellooo": "hello", "thankss": "thanks", "cooool": "cool");
    the word as typed when it is one already, or stretches none."""
    word = match.group(0)
    lower = word.lower()
    if lower in _PLAIN_WORDS:
        return word
    return next((r for r in stretched_readings(lower, TYPED_AGAIN) if r in _PLAIN_WORDS), word)


def plain(text: str) -> str:
    """``text`` with each word stretched for warmth written as the small-talk word it stretches
    ("thankss!!": "thanks!!", "byeee": "bye"), so that it is told as that word would be."""
    return _LETTERS.sub(_unstretched, text)


def possible(text: str) -> bool:
    """Whether ``text`` is made of small-talk words only, or of kind signs, so that it may be
    small talk."""
    if _KIND_SIGNS.match(text):
        return True
    return len(text.split()) <= MAX_WORDS and all(word in WORDS for word in tokenize(text))


def category(text: str, vector: np.ndarray, embedder: Any) -> str | None:
    """The small-talk category of ``text`` (its own ``vector`` from ``embedder``), or ``None``."""
    if _KIND_SIGNS.match(text):
        return "acknowledgement"
    if not possible(text):
        return None
    words = _WORD.findall(text.lower())
    if words and "?" not in text:  # "no, how much is it?" asks something
        if words[0] in _NO:
            return "no"
        if words[0] in _YES and not _THANKS & set(words):
            return "yes"
        if _THANKS & set(words) and set(words) <= _THANKS_ONLY:
            return "goodbye" if _BYE & set(words) else "thanks"
        if set(words) <= _UNDERSTOOD:
            return "acknowledgement"
    labels, vectors = _exemplars(embedder)
    scores = vectors @ vector
    best = int(np.argmax(scores))
    return labels[best] if float(scores[best]) >= MIN_COSINE else None
