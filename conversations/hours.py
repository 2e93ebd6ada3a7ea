"""Business hours: when the support team is there to pick a conversation up.

``SUPPORT_HOURS`` is a list of rules, each days and a time range, separated by ``;`` or
``,``: ``"Mon-Fri 09:00-17:00"``, ``"Mon-Fri 09:00-17:30; Sat 10:00-14:00"``,
``"Mon,Wed,Fri 08:00-12:00"``. Day ranges may wrap (``"Fri-Mon"``); ``24:00`` ends a day; an
overnight shift is two rules (``"Mon-Fri 22:00-24:00; Tue-Sat 00:00-06:00"``). Times are
wall-clock times in ``SUPPORT_TIMEZONE``, so opening hours follow daylight saving. An empty
spec means the team is always there.

Pure functions of their arguments (no settings, no database), so they are tested alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY = r"[A-Za-z]+"
_DAYS = rf"{_DAY}(?:\s*-\s*{_DAY})?(?:\s*,\s*{_DAY}(?:\s*-\s*{_DAY})?)*"
_TIME = r"\d{1,2}:\d{2}"
_RULE = rf"({_DAYS})\s+({_TIME})\s*-\s*({_TIME})"
_SPEC = re.compile(rf"\s*{_RULE}(?:\s*[;,]\s*{_RULE})*\s*[;,]?\s*")


@dataclass(frozen=True)
class Window:
    """Open on ``day`` (0 = Monday) from ``start`` to ``end``, minutes after midnight."""

    day: int
    start: int
    end: int


@dataclass(frozen=True)
class Schedule:
    windows: tuple[Window, ...]
    zone: ZoneInfo

    @property
    def zone_name(self) -> str:
        return self.zone.key

    def is_open(self, when: datetime) -> bool:
        """Whether the team is there at ``when`` (an aware datetime, any zone)."""
        local = when.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(w.day == local.weekday() and w.start <= minute < w.end for w in self.windows)

    def next_opening(self, when: datetime) -> datetime:
        """When the team is next there, in the schedule's zone: ``when`` itself while open,
        else the start of the next window (one is always found within a week)."""
        local = when.astimezone(self.zone)
        if self.is_open(local):
            return local
        minute = local.hour * 60 + local.minute
        for ahead in range(8):
            day = (local.date() + timedelta(days=ahead)).weekday()
            starts = sorted(w.start for w in self.windows if w.day == day and (ahead or w.start > minute))
            if starts:
                date = local.date() + timedelta(days=ahead)
                naive = datetime.combine(date, time(starts[0] // 60, starts[0] % 60))
                return naive.replace(tzinfo=self.zone)
        raise AssertionError("a schedule with windows opens within a week")  # parse_hours refuses none


def _day(name: str, spec: str) -> int:
    lowered = name.lower()
    for index, full in enumerate(DAY_NAMES):
        if len(lowered) >= 3 and full.lower().startswith(lowered):
            return index
    raise ValueError(f"SUPPORT_HOURS {spec!r}: {name!r} is not a day (Mon, Tue, ... Sun).")


def _minutes(text: str, spec: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"SUPPORT_HOURS {spec!r}: {text!r} is not a time of day (00:00 to 24:00).")
    return hours * 60 + minutes


def _days(text: str, spec: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, _, last = (p.strip() for p in part.partition("-"))
        start = _day(first, spec)
        end = _day(last, spec) if last else start
        days.extend((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return days


def parse_hours(spec: str) -> tuple[Window, ...]:
    """The windows ``spec`` opens; ``()`` for an empty spec (always staffed). Raises
    ``ValueError`` saying what is wrong, so a typo stops the server at startup (see
    conversations/checks.py) instead of silently closing support."""
    if not spec.strip():
        return ()
    if not _SPEC.fullmatch(spec):
        raise ValueError(
            f"SUPPORT_HOURS {spec!r} is not a list of 'Days HH:MM-HH:MM' rules, "
            "e.g. 'Mon-Fri 09:00-17:00; Sat 10:00-14:00'."
        )
    windows: list[Window] = []
    for match in re.finditer(_RULE, spec):
        days, start_text, end_text = match.groups()
        start, end = _minutes(start_text, spec), _minutes(end_text, spec)
        if end <= start:
            raise ValueError(
                f"SUPPORT_HOURS {spec!r}: {start_text}-{end_text} ends before it starts; "
                "write an overnight shift as two rules (…-24:00 and 00:00-…)."
            )
        windows.extend(Window(day, start, end) for day in _days(days, spec))
    return tuple(sorted(set(windows), key=lambda w: (w.day, w.start)))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"SUPPORT_TIMEZONE {name!r} is not an IANA time zone, e.g. 'Europe/Berlin'.") from None


def schedule(spec: str, timezone_name: str) -> Schedule | None:
    """The schedule of the settings, or ``None`` when the team is always there."""
    windows = parse_hours(spec)
    tz = zone(timezone_name)
    return Schedule(windows, tz) if windows else None


def offline_notice(schedule: Schedule, now: datetime) -> str:
    """What a customer reads when their conversation needs a person outside the hours."""
    opening = schedule.next_opening(now)
    today = now.astimezone(schedule.zone).date()
    if opening.date() == today:
        day = "today"
    elif opening.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = DAY_NAMES[opening.weekday()]
    return (
        f"Our team is offline now and back {day} at {opening:%H:%M} ({schedule.zone_name}). "
        "Leave your email and we'll answer there."
    )
