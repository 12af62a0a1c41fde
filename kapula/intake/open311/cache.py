"""A small per-process cache for what every POST looks up: the client of an API key and
the service it posts to (with its form). Like the REST API's verified tokens, an entry
lives ``SECONDS``: a deactivated client or a changed service reaches the other processes
within that time, and this process at once when the change is made in the Open311 admin.
Misses are never cached, so unknown keys or codes cannot fill it."""

from __future__ import annotations

import threading
import time
from typing import Any

SECONDS = 10.0
MAX_ENTRIES = 10_000
_lock = threading.Lock()
_entries: dict[tuple[Any, ...], tuple[float, Any]] = {}


def get(key: tuple[Any, ...]) -> Any:
    hit = _entries.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def put(key: tuple[Any, ...], value: Any) -> None:
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (time.monotonic() + SECONDS, value)


def forget() -> None:
    with _lock:
        _entries.clear()
