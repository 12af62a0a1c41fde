"""Rows of the permission matrix (tests/test_permissions.py) need an engagement to point
at; it is made with the ORM (no ticket history, no events), once per test."""

from __future__ import annotations

from typing import Any

from kapula.suppliers.models import Supplier, SupplierEngagement


def engagement_id(c: Any) -> int:
    if "engagement" not in c.__dict__:
        supplier = Supplier.objects.create(organisation=c.world.org, name="Matriisi Oy",
                                           email="matriisi@example.fi")
        c.__dict__["engagement"] = SupplierEngagement.objects.create(
            organisation=c.world.org, ticket=c.ticket, supplier=supplier).pk
    return int(c.__dict__["engagement"])
