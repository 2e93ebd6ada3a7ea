"""Text out: token ids become text pieces that never split a character, stop strings end a
reply before any of them is streamed, and the reply starts at its first visible character."""

from __future__ import annotations

import re
from typing import Any

from generation.engine.sequence import Sequence

_FIRST_WORD = re.compile(r"\s*\S+")
FIRST_TOKENS_KEPT = 50_000


class Detokenizer:
    def __init__(self, tokenizer: Any) -> None:
        self._decode = tokenizer.decode
        self._encode = tokenizer
        self._vocab_size = len(tokenizer)
        self._pieces: list[str] | None = None  # each token's own text, for constrained picks
        # Streams that got their first piece since the engine last looked (``take_first_pieces``).
        self._first_pieces = 0
        # First tokens of the words constrained replies steer to: a reply asks at every step, and
        # for the same word until it is written (``first_token_of``).
        self._first_tokens: dict[str, int | None] = {}

    def add(self, seq: Sequence) -> bool:
        """Decode what ``seq`` generated since last time into its text and stream what is safe
        to stream; returns true when a stop string ended the reply (its text then ends
        before it, and the rest is streamed)."""
        piece = self._next_piece(seq)
        if not piece:
            return False
        seq.text += piece
        if self._stop_hit(seq):
            return True
        self.emit(seq, final=False)
        return False

    def emit(self, seq: Sequence, *, final: bool) -> None:
        """Stream the text not streamed yet; unless ``final``, hold back a tail that could
        still grow into a stop string, and trailing whitespace, which the final text loses
        (so what streamed is always the start of the final text)."""
        if final:
            end = len(seq.text)
        else:
            end = min(len(seq.text) - held_back(seq.text, seq.stream.params.stop), len(seq.text.rstrip()))
        if final:
            seq.text = seq.text.rstrip()
            end = len(seq.text)
        if end <= seq.emitted:
            return
        piece = seq.text[seq.emitted : end]
        if not seq.stream.text:
            piece = piece.lstrip()  # the reply starts at its first visible character
            if not piece:
                seq.emitted = end
                return
        seq.emitted = end
        if not seq.stream.text:
            self._first_pieces += 1
        seq.stream.put(piece)

    def text_of(self, seq: Sequence) -> str:
        """The whole reply's text so far, a character split across tokens included."""
        return str(self._decode(seq.generated, skip_special_tokens=True)).lstrip()

    def text_with(self, seq: Sequence, text: str, token: int) -> str:
        """The whole reply's text if ``token`` followed ``text`` (``text_of(seq)``): the token's
        own text appended, or the whole reply decoded again where that text is part of a
        character split across tokens."""
        if self._pieces is None:
            self._pieces = self._token_texts()
        piece = self._pieces[token] if token < len(self._pieces) else "\ufffd"
        if "\ufffd" in piece:
            return str(self._decode([*seq.generated, token], skip_special_tokens=True)).lstrip()
        return (text + piece).lstrip()

    def _token_texts(self) -> list[str]:
        """Each token's own text, where texts join up as the tokenizer decodes them (byte-level
        BPE); else none, and every constrained pick decodes the whole reply (sentencepiece
        drops a token's leading space when it stands alone)."""
        probe = " The refund, 5 days; e-bikes cost $3.50 per hour."
        ids = self._encode(probe, add_special_tokens=False)["input_ids"]
        texts = [str(self._decode([i], skip_special_tokens=True)) for i in range(self._vocab_size)]
        if "".join(texts[i] for i in ids) != str(self._decode(ids, skip_special_tokens=True)):
            return ["\ufffd"] * self._vocab_size
        return texts

    def first_token_of(self, text: str) -> int | None:
        """The first token of ``text`` as the tokenizer splits it, or ``None``. Only the first
        word is encoded (a token never spans two): a constrained reply asks at every step."""
        first = _FIRST_WORD.match(text)
        word = first.group() if first else text
        if word not in self._first_tokens:
            if len(self._first_tokens) >= FIRST_TOKENS_KEPT:
                self._first_tokens.clear()
            ids = self._encode(word, add_special_tokens=False)["input_ids"]
            self._first_tokens[word] = int(ids[0]) if ids else None
        return self._first_tokens[word]

    def take_first_pieces(self) -> int:
        """How many streams got their first piece since the last call."""
        count, self._first_pieces = self._first_pieces, 0
        return count

    def _next_piece(self, seq: Sequence) -> str:
        """Incremental decoding that never splits a multi-byte character (as TGI does)."""
        decode = self._decode
        prefix = str(decode(seq.generated[seq.prefix_offset : seq.read_offset], skip_special_tokens=True))
        full = str(decode(seq.generated[seq.prefix_offset :], skip_special_tokens=True))
        if len(full) > len(prefix) and not full.endswith("\ufffd"):
            seq.prefix_offset, seq.read_offset = seq.read_offset, len(seq.generated)
            return full[len(prefix) :]
        return ""

    def _stop_hit(self, seq: Sequence) -> bool:
        stops = seq.stream.params.stop
        if not stops:
            return False
        longest = max(len(s) for s in stops)
        window_start = max(0, seq.emitted - longest)
        hits = [i for i in (seq.text.find(s, window_start) for s in stops) if i >= 0]
        if hits:
            seq.text = seq.text[: min(hits)]
            self.emit(seq, final=True)
            return True
        return False


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters could still grow into a stop string."""
    held = 0
    for stop in stops:
        for k in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:k]):
                held = max(held, k)
                break
    return held
