"""Small reads used only by the workspace: customer look-up for the new-ticket form."""

from __future__ import annotations

from django.db.models import Q

from kapula.core.models import ContactKind, Customer, CustomerContact, User
from kapula.core.text import normalise_email, normalise_phone


def customer(user: User, customer_id: int | None) -> Customer | None:
    """A customer of the user's organisation, or None."""
    if not customer_id or not user.organisation_id:
        return None
    return (Customer.objects.filter(organisation_id=user.organisation_id, pk=customer_id)
            .prefetch_related("contacts").first())


def find_customers(user: User, text: str, limit: int = 10) -> list[Customer]:
    """Customers of the user's organisation by name (contains), email or phone (exact)."""
    text = text.strip()
    if not user.organisation_id or not text:
        return []
    org_id = user.organisation_id
    q = Q(name__icontains=text)
    contact_q = Q(kind=ContactKind.EMAIL, normalised=normalise_email(text))
    digits = normalise_phone(text)
    if len(digits.lstrip("+")) >= 6 and digits.lstrip("+").isdigit() and digits.isascii():
        contact_q |= Q(kind=ContactKind.PHONE, normalised=digits)
    q |= Q(pk__in=CustomerContact.objects.filter(contact_q, organisation_id=org_id)
           .values("customer_id"))
    return list(Customer.objects.filter(q, organisation_id=org_id)
                .prefetch_related("contacts").order_by("name", "id")[:limit])
