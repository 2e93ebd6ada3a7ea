"""Streamed pieces of a reply gathered into delta events."""

from __future__ import annotations

import time
from collections.abc import Callable


class DeltaCoalescer:
    """Gathers streamed pieces into deltas at most every ``interval_s`` seconds.

    ``add`` returns the text to send now (or ``None`` to keep gathering); ``flush`` returns
    whatever is left. ``offset`` is where the next returned text starts in the reply.
    """

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._pending: list[str] = []
        self._last_flush = clock() - interval_s
        self.offset = 0

    def add(self, piece: str) -> tuple[str, int] | None:
        if piece:
            self._pending.append(piece)
        if self._pending and self._clock() - self._last_flush >= self.interval_s:
            return self._take()
        return None

    def flush(self) -> tuple[str, int] | None:
        return self._take() if self._pending else None

    def _take(self) -> tuple[str, int]:
        text = "".join(self._pending)
        self._pending.clear()
        start = self.offset
        self.offset += len(text)
        self._last_flush = self._clock()
        return text, start
