"""Business-time arithmetic: examples across weekends, Finnish holidays, DST changes,
closures and extra openings, and properties checked with hypothesis."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kapula.sla.business_time import (
    ALWAYS_OPEN,
    Schedule,
    add,
    add_business_days,
    between,
    is_open,
    minutes_between,
)

HEL = ZoneInfo("Europe/Helsinki")
T = dt.time


def hel(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=HEL)


WEEKDAYS_730_1600 = Schedule.build(hours=[(d, T(7, 30), T(16)) for d in range(5)])
SPLIT = Schedule.build(hours=[(d, T(8), T(11)) for d in range(5)]
                       + [(d, T(12), T(16)) for d in range(5)])
AROUND_THE_CLOCK_WEEKDAYS = Schedule.build(hours=[(d, T(0), T(0)) for d in range(7)])
WITH_EXCEPTIONS = Schedule.build(
    hours=[(d, T(8), T(16)) for d in range(5)],
    closures=[(dt.date(2026, 12, 31), T(12), T(0)), (dt.date(2026, 11, 18), None, None)],
    openings=[(dt.date(2026, 11, 21), T(10), T(14))],
)


def test_weekend_is_skipped():
    friday_1500 = hel(2026, 11, 27, 15, 0)
    due = add(WEEKDAYS_730_1600, friday_1500, 120)
    assert due == hel(2026, 11, 30, 8, 30)  # 60 min on Friday, 60 on Monday
    assert minutes_between(WEEKDAYS_730_1600, friday_1500, due) == 120


def test_start_outside_hours_waits_for_opening():
    saturday = hel(2026, 11, 28, 12, 0)
    assert add(WEEKDAYS_730_1600, saturday, 30) == hel(2026, 11, 30, 8, 0)
    assert minutes_between(WEEKDAYS_730_1600, saturday, hel(2026, 11, 30, 7, 29)) == 0


def test_independence_day_is_closed():
    # 6.12.2027 is a Monday: Itsenäisyyspäivä
    friday = hel(2027, 12, 3, 15, 30)
    assert add(WEEKDAYS_730_1600, friday, 60) == hel(2027, 12, 7, 8, 0)
    assert minutes_between(WEEKDAYS_730_1600, hel(2027, 12, 6, 0, 0),
                           hel(2027, 12, 7, 0, 0)) == 0


def test_midsummer_eve_and_day_are_closed():
    # Juhannusaatto Fri 19.6.2026 and Juhannuspäivä Sat 20.6.2026
    thursday = hel(2026, 6, 18, 15, 0)
    assert add(WEEKDAYS_730_1600, thursday, 90) == hel(2026, 6, 22, 8, 0)


def test_holidays_can_be_ignored():
    open_on_holidays = Schedule.build(hours=[(d, T(8), T(16)) for d in range(5)],
                                      public_holidays=False)
    assert add(open_on_holidays, hel(2027, 12, 6, 8, 0), 60) == hel(2027, 12, 6, 9, 0)


def test_lunch_break_splits_the_day():
    assert add(SPLIT, hel(2026, 11, 30, 10, 30), 60) == hel(2026, 11, 30, 12, 30)
    assert minutes_between(SPLIT, hel(2026, 11, 30, 8), hel(2026, 11, 30, 16)) == 420


def test_partial_closure_and_extra_opening():
    # New Year's Eve 2026 (Thursday) closes at noon
    assert add(WITH_EXCEPTIONS, hel(2026, 12, 31, 11, 0), 120) == hel(2027, 1, 4, 9, 0)
    # a whole-day closure on Wednesday 18.11.
    assert add(WITH_EXCEPTIONS, hel(2026, 11, 17, 15, 0), 120) == hel(2026, 11, 19, 9, 0)
    # extra opening on Saturday 21.11. 10-14
    assert add(WITH_EXCEPTIONS, hel(2026, 11, 20, 15, 0), 120) == hel(2026, 11, 21, 11, 0)
    assert is_open(WITH_EXCEPTIONS, hel(2026, 11, 21, 13, 59))
    assert not is_open(WITH_EXCEPTIONS, hel(2026, 11, 22, 12, 0))


def test_dst_spring_forward_day_is_shorter():
    # summer time starts Sunday 29.3.2026 at 03:00 -> 04:00 in Helsinki
    day = between(AROUND_THE_CLOCK_WEEKDAYS, hel(2026, 3, 29, 0, 0), hel(2026, 3, 30, 0, 0))
    assert day == dt.timedelta(hours=23)
    assert add(AROUND_THE_CLOCK_WEEKDAYS, hel(2026, 3, 29, 2, 30), 60).astimezone(HEL) == \
        hel(2026, 3, 29, 4, 30)


def test_dst_fall_back_day_is_longer():
    # summer time ends Sunday 25.10.2026 at 04:00 -> 03:00
    day = between(AROUND_THE_CLOCK_WEEKDAYS, hel(2026, 10, 25, 0, 0), hel(2026, 10, 26, 0, 0))
    assert day == dt.timedelta(hours=25)


def test_office_hours_across_dst_keep_local_times():
    friday = hel(2026, 3, 27, 15, 0)  # winter time; Monday is summer time
    due = add(WEEKDAYS_730_1600, friday, 120)
    assert due.astimezone(HEL) == hel(2026, 3, 30, 8, 30)
    assert due.utcoffset() == dt.timedelta(0)  # stored as UTC
    assert due == dt.datetime(2026, 3, 30, 5, 30, tzinfo=dt.UTC)


def test_business_days():
    # Friday -> 2 business days: Tuesday at closing time
    assert add_business_days(WEEKDAYS_730_1600, hel(2026, 11, 27, 10, 0), 2) == \
        hel(2026, 12, 1, 16, 0)
    assert add_business_days(ALWAYS_OPEN, hel(2026, 11, 27, 10, 0), 2) == \
        hel(2026, 11, 29, 10, 0)


def test_no_hours_means_around_the_clock():
    empty = Schedule.build()
    assert empty.always_open
    assert add(empty, hel(2026, 11, 28, 12, 0), 90) == hel(2026, 11, 28, 13, 30)


# --- properties ------------------------------------------------------------------------------

SCHEDULES = st.sampled_from([WEEKDAYS_730_1600, SPLIT, AROUND_THE_CLOCK_WEEKDAYS,
                             WITH_EXCEPTIONS, ALWAYS_OPEN])
MOMENTS = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31),
                       timezones=st.just(dt.UTC))
MINUTES = st.integers(min_value=0, max_value=60 * 24 * 40)


@settings(max_examples=300, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, n=MINUTES)
def test_between_inverts_add(schedule, start, n):
    assert minutes_between(schedule, start, add(schedule, start, n)) == n
    assert between(schedule, start, add(schedule, start, n)) == dt.timedelta(minutes=n)


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, a=MINUTES, b=MINUTES)
def test_add_is_monotonic_and_additive(schedule, start, a, b):
    lo, hi = sorted((a, b))
    assert add(schedule, start, lo) <= add(schedule, start, hi)
    assert add(schedule, add(schedule, start, a), b) == add(schedule, start, a + b)


@settings(max_examples=200, deadline=None)
@given(schedule=SCHEDULES, x=MOMENTS, y=MOMENTS, z=MOMENTS)
def test_between_is_additive_and_antisymmetric(schedule, x, y, z):
    a, b, c = sorted((x, y, z))
    assert between(schedule, a, b) + between(schedule, b, c) == between(schedule, a, c)
    assert between(schedule, c, a) == -between(schedule, a, c)
    assert dt.timedelta(0) <= between(schedule, a, c) <= c - a


@settings(max_examples=300, deadline=None)
@given(schedule=SCHEDULES, start=MOMENTS, n=st.integers(min_value=1, max_value=60 * 24 * 40))
def test_result_is_never_in_closed_time(schedule, start, n):
    due = add(schedule, start, n)
    # the last minute before the due moment was open time
    assert is_open(schedule, due - dt.timedelta(microseconds=1))
    assert due > start
