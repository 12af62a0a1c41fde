"""Business-time arithmetic over a service calendar.

A :class:`Schedule` is an immutable picture of one calendar: weekly service hours in local
wall-clock time, the time zone, whether Finnish public holidays close the service, closures
and extra openings. For any local date it gives that day's open intervals as UTC instants
(computed once per date and kept). Everything else works on those intervals:

* :func:`add` - the instant when ``n`` business minutes have passed after a moment;
* :func:`between` - business time between two instants (a :class:`~datetime.timedelta`);
* :func:`minutes_between` - the same in whole minutes.

Business time is elapsed real time inside open intervals: an interval's ends are local
times turned into UTC with the zone's rules, so a service open 00:00-24:00 on the Sunday
when summer time starts has 23 hours that day. A schedule with no weekly hours at all is
open around the clock (as is "no calendar").
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

UTC = dt.UTC
DAY = 1440
#: days without any open time after which an addition gives up and counts real time
MAX_EMPTY_DAYS = 400
_CACHE_DAYS = 4000

Span = tuple[int, int]  # minutes from local midnight, [start, end), end <= 1440


def _minutes(t: dt.time | None, *, end: bool = False) -> int:
    if t is None:
        return DAY if end else 0
    value = t.hour * 60 + t.minute
    return DAY if end and value == 0 else value


def span(start: dt.time | None, end: dt.time | None) -> Span:
    """Minutes of a local time range; an end of 00:00 means midnight at the end of the day."""
    return _minutes(start), _minutes(end, end=True)


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(x for x in spans if x[1] > x[0]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _subtract(spans: list[Span], holes: Iterable[Span]) -> list[Span]:
    out = spans
    for hs, he in holes:
        nxt: list[Span] = []
        for s, e in out:
            if he <= s or hs >= e:
                nxt.append((s, e))
                continue
            if s < hs:
                nxt.append((s, hs))
            if he < e:
                nxt.append((he, e))
        out = nxt
    return out


@dataclass(eq=False)
class Schedule:
    """Open hours of one calendar. Build with :meth:`build`; share freely between threads."""

    time_zone: str = "Europe/Helsinki"
    weekly: tuple[tuple[Span, ...], ...] = ((),) * 7
    closures: dict[dt.date, tuple[Span, ...]] = field(default_factory=dict)
    openings: dict[dt.date, tuple[Span, ...]] = field(default_factory=dict)
    public_holidays: bool = True
    always_open: bool = False
    _days: dict[dt.date, tuple[tuple[dt.datetime, dt.datetime], ...]] = field(
        default_factory=dict, repr=False)
    _holidays: dict[int, set[dt.date]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(cls, *, time_zone: str = "Europe/Helsinki",
              hours: Iterable[tuple[int, dt.time, dt.time]] = (),
              closures: Iterable[tuple[dt.date, dt.time | None, dt.time | None]] = (),
              openings: Iterable[tuple[dt.date, dt.time, dt.time]] = (),
              public_holidays: bool = True) -> Schedule:
        weekly: list[list[Span]] = [[] for _ in range(7)]
        for weekday, start, end in hours:
            weekly[weekday].append(span(start, end))
        closed: dict[dt.date, list[Span]] = {}
        for day, c_start, c_end in closures:
            closed.setdefault(day, []).append(span(c_start, c_end))
        extra: dict[dt.date, list[Span]] = {}
        for o_day, o_start, o_end in openings:
            extra.setdefault(o_day, []).append(span(o_start, o_end))
        merged = tuple(tuple(_merge(w)) for w in weekly)
        return cls(
            time_zone=time_zone, weekly=merged,
            closures={d: tuple(_merge(v)) for d, v in closed.items()},
            openings={d: tuple(_merge(v)) for d, v in extra.items()},
            public_holidays=public_holidays,
            always_open=not any(merged) and not extra,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_holiday(self, day: dt.date) -> bool:
        if not self.public_holidays:
            return False
        found = self._holidays.get(day.year)
        if found is None:
            found = set(holidays.country_holidays("FI", years=day.year))
            self._holidays[day.year] = found
        return day in found

    def local_spans(self, day: dt.date) -> list[Span]:
        """The day's open time in local minutes: weekly hours (none on a public holiday),
        plus extra openings, minus closures."""
        base = [] if self.is_holiday(day) else list(self.weekly[day.weekday()])
        spans = _merge([*base, *self.openings.get(day, ())])
        return _subtract(spans, self.closures.get(day, ()))

    def day(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The day's open intervals as UTC instants, in order."""
        hit = self._days.get(day)
        if hit is not None:
            return hit
        tz = self.tz
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)

        def instant(minute: int) -> dt.datetime:
            if minute >= DAY:
                return next_midnight.astimezone(UTC)
            local = midnight + dt.timedelta(minutes=minute)  # wall-clock arithmetic
            return local.astimezone(UTC)

        out = []
        for s, e in self.local_spans(day):
            a, b = instant(s), instant(e)
            if b > a:
                out.append((a, b))
        value = tuple(out)
        with self._lock:
            if len(self._days) > _CACHE_DAYS:
                self._days.clear()
            self._days[day] = value
        return value

    def local_date(self, moment: dt.datetime) -> dt.date:
        return moment.astimezone(self.tz).date()


ALWAYS_OPEN = Schedule(always_open=True)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: business time needs aware instants")
    return moment.astimezone(UTC)


def add(schedule: Schedule, start: dt.datetime, minutes: float | dt.timedelta) -> dt.datetime:
    """The instant when ``minutes`` business minutes have passed after ``start``.

    With a positive amount the result is always inside (or at the end of) an open interval.
    """
    left = minutes if isinstance(minutes, dt.timedelta) else dt.timedelta(minutes=minutes)
    start = _aware(start)
    if left <= dt.timedelta(0):
        return start
    if schedule.always_open:
        return start + left
    day = schedule.local_date(start)
    empty = 0
    while True:
        intervals = schedule.day(day)
        if not intervals:
            empty += 1
            if empty > MAX_EMPTY_DAYS:  # closed for good: count real time instead
                return max(start, dt.datetime.combine(day, dt.time(), tzinfo=UTC)) + left
        else:
            empty = 0
        for a, b in intervals:
            if b <= start:
                continue
            a = max(a, start)
            if left <= b - a:
                return a + left
            left -= b - a
        day += dt.timedelta(days=1)


def between(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Business time from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    start, end = _aware(start), _aware(end)
    if end < start:
        return -between(schedule, end, start)
    if schedule.always_open:
        return end - start
    total = dt.timedelta(0)
    day, last = schedule.local_date(start), schedule.local_date(end)
    while day <= last:
        for a, b in schedule.day(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return total


def minutes_between(schedule: Schedule, start: dt.datetime, end: dt.datetime) -> int:
    """Whole business minutes from ``start`` to ``end`` (rounded towards zero)."""
    seconds = between(schedule, start, end) / dt.timedelta(microseconds=1)
    return int(seconds / 60_000_000)


def is_open(schedule: Schedule, moment: dt.datetime) -> bool:
    if schedule.always_open:
        return True
    moment = _aware(moment)
    return any(a <= moment < b for a, b in schedule.day(schedule.local_date(moment)))


def add_business_days(schedule: Schedule, start: dt.datetime, days: int) -> dt.datetime:
    """The end of service on the ``days``-th business day after the day of ``start``
    (a day with any open time counts). Around the clock: ``start`` plus whole days."""
    start = _aware(start)
    if schedule.always_open or days <= 0:
        return start + dt.timedelta(days=max(days, 0))
    day = schedule.local_date(start)
    counted = 0
    for _ in range(days * 7 + MAX_EMPTY_DAYS):
        day += dt.timedelta(days=1)
        intervals = schedule.day(day)
        if intervals:
            counted += 1
            if counted == days:
                return intervals[-1][1]
    return start + dt.timedelta(days=days)


def open_intervals(schedule: Schedule, start: dt.datetime,
                   end: dt.datetime) -> Sequence[tuple[dt.datetime, dt.datetime]]:
    """Open intervals overlapping [start, end), clipped to it (for tests and displays)."""
    start, end = _aware(start), _aware(end)
    if schedule.always_open:
        return [(start, end)] if end > start else []
    out = []
    day, last = schedule.local_date(start), schedule.local_date(end)
    while day <= last:
        for a, b in schedule.day(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                out.append((lo, hi))
        day += dt.timedelta(days=1)
    return out
