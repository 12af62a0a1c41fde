"""Demo data: the IT service desk's supplier (called from ``kapula demo_data``)."""

from __future__ import annotations

from kapula.core.models import Organisation, Team
from kapula.suppliers.models import Supplier, SupplierChannel

DEMO_SUPPLIER = "Datakeskus Oy"
DEMO_SUPPLIER_EMAIL = "tuki@datakeskus.example"


def ensure_demo_supplier(org: Organisation, teams: dict[str, Team]) -> Supplier:
    supplier, created = Supplier.objects.get_or_create(
        organisation=org, name=DEMO_SUPPLIER,
        defaults={"channel": SupplierChannel.EMAIL, "email": DEMO_SUPPLIER_EMAIL,
                  "language": "fi", "response_hours": 4, "resolution_hours": 40,
                  "reference_pattern": r"DK-(\d+)"},
    )
    if created:
        supplier.teams.set([t for slug, t in teams.items()
                            if slug in ("it-tuki", "it-asiantuntijat")])
    return supplier
