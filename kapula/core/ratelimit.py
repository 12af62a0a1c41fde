"""Counters for rate limits, kept in the cache (Redis when configured, so that every
process counts together)."""

from __future__ import annotations

from django.core.cache import cache


def parse_rate(value: str, default: tuple[int, int]) -> tuple[int, int]:
    """``"10/300"`` -> (10, 300): so many events per so many seconds."""
    try:
        count, seconds = value.split("/", 1)
        return max(1, int(count)), max(1, int(seconds))
    except (ValueError, AttributeError):
        return default


def count(key: str, seconds: int) -> int:
    """Add one to the counter ``key`` (which starts its ``seconds`` when first counted);
    return the new value."""
    if cache.add(key, 1, seconds):
        return 1
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        return 1
