"""Database helpers shared by actions."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from django.db import transaction

_state = threading.local()


def atomic_action[**P, R](func: Callable[P, R]) -> Callable[P, R]:
    """Run an action in one transaction.

    The outermost action opens a transaction (or a savepoint inside a caller's
    transaction). An action called by another action (intake -> create_ticket) joins that
    transaction without a savepoint of its own, which saves two round trips per nested
    call; an error inside it still rolls back the whole outer action, so nothing is
    half-written. Code that wants to recover from a nested action's error wraps the call in
    its own ``transaction.atomic()``.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        try:
            with transaction.atomic(savepoint=depth == 0):
                return func(*args, **kwargs)
        finally:
            _state.depth = depth

    return wrapper
