"""Per-organisation ticket configuration (types, custom fields, priority matrix), cached in
the process for a short while: creating a ticket needs all three, and they change rarely.

Changes made in the admin clear this process's cache at once; other processes see them
within ``TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

TTL_SECONDS = 30.0
_lock = threading.Lock()
_cache: dict[tuple[str, int], tuple[float, Any]] = {}


def cached[T](kind: str, organisation_id: int, load: Callable[[], T]) -> T:
    key = (kind, organisation_id)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = load()
    with _lock:
        _cache[key] = (now + TTL_SECONDS, value)
    return value


def invalidate(organisation_id: int | None = None) -> None:
    with _lock:
        if organisation_id is None:
            _cache.clear()
        else:
            for key in [k for k in _cache if k[1] == organisation_id]:
                del _cache[key]
