"""Database helpers shared by actions."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

from django.db import connection, transaction
from django.db.models import Model

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


def insert_objects(objects: Sequence[Model]) -> None:
    """INSERT unsaved model instances of one model without reading ids back.

    For append-only rows that nobody reads back in the same transaction (history entries,
    outbox events): it spares the ORM's per-instance bookkeeping, a noticeable share of the
    cost of creating a ticket. Values are prepared by the model's own fields, so they are
    stored exactly as ``save()`` would store them.
    """
    if not objects:
        return
    meta = objects[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({marks})"
    params = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
              for obj in objects]
    with connection.cursor() as cur:
        if len(params) == 1:
            cur.execute(sql, params[0])
        else:
            cur.executemany(sql, params)
