"""Writes to organisations' people: customers and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kapula.core.db import atomic_action
from kapula.core.errors import Conflict, Forbidden, ValidationFailed
from kapula.core.models import (
    ApiToken,
    ContactKind,
    Customer,
    CustomerContact,
    Language,
    Organisation,
    OutboxEvent,
    Role,
    User,
    hash_token,
)
from kapula.core.outbox import emit_many
from kapula.core.text import normalise_email, normalise_phone


@dataclass
class CustomerIdentity:
    """Who a contact came from, as much as the channel knows."""

    name: str = ""
    email: str = ""
    phone: str = ""
    language: str | None = None
    customer_id: int | None = None


def _checked_email(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationFailed(_("Enter a valid email address."), code="invalid_email",
                               field="email") from None
    return value


def _checked_phone(value: str) -> str:
    normalised = normalise_phone(value)
    if not (6 <= len(normalised.lstrip("+")) <= 15) or not normalised.lstrip("+").isdigit():
        raise ValidationFailed(_("Enter a valid phone number."), code="invalid_phone",
                               field="phone")
    return normalised


def _check_actor(actor: User | None, organisation: Organisation) -> None:
    if actor is not None and actor.organisation_id != organisation.pk:
        raise Forbidden(_("You cannot act in another organisation."),
                        code="organisation_forbidden")


def find_customer(organisation: Organisation, identity: CustomerIdentity) -> Customer | None:
    if identity.customer_id:
        return Customer.objects.filter(organisation=organisation,
                                       pk=identity.customer_id).first()
    for kind, raw, norm in (
        (ContactKind.EMAIL, identity.email, normalise_email),
        (ContactKind.PHONE, identity.phone, normalise_phone),
    ):
        if raw:
            contact = CustomerContact.objects.filter(
                organisation=organisation, kind=kind, normalised=norm(raw)
            ).select_related("customer").first()
            if contact:
                customer = contact.customer
                customer.matched_contact = contact  # type: ignore[attr-defined]
                return customer
    return None


@atomic_action
def create_customer(
    *, actor: User | None, organisation: Organisation, name: str = "",
    emails: Sequence[str] = (), phones: Sequence[str] = (), language: str | None = None,
    organisation_name: str = "",
) -> Customer:
    _check_actor(actor, organisation)
    name = name.strip()[:200]
    if language and language not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    mails = [_checked_email(e) for e in emails if e and e.strip()]
    tels = [(p.strip(), _checked_phone(p)) for p in phones if p and p.strip()]
    if not name and not mails and not tels:
        raise ValidationFailed(_("Give at least a name, an email address or a phone number."),
                               code="customer_identity_required")
    customer = Customer.objects.create(organisation=organisation, name=name,
                                       language=language or "",
                                       organisation_name=organisation_name.strip()[:200])
    contacts = [CustomerContact(organisation=organisation, customer=customer,
                                kind=ContactKind.EMAIL, value=e, normalised=normalise_email(e))
                for e in mails]
    contacts += [CustomerContact(organisation=organisation, customer=customer,
                                 kind=ContactKind.PHONE, value=raw, normalised=norm)
                 for raw, norm in tels]
    try:
        with transaction.atomic():
            CustomerContact.objects.bulk_create(contacts)
        # what customer.contacts.all() would read back (spares the caller a query)
        customer._prefetched_objects_cache = {"contacts": contacts}  # type: ignore[attr-defined]
    except IntegrityError:
        raise Conflict(_("A customer with this email address or phone number already exists."),
                       code="customer_exists") from None
    emit_many([OutboxEvent(organisation_id=organisation.pk, topic="customer.created",
                           aggregate="customer", aggregate_id=customer.pk,
                           payload={"name": customer.name})])
    return customer


def find_or_create_customer(
    *, actor: User | None, organisation: Organisation, identity: CustomerIdentity
) -> Customer | None:
    """The customer matching the identity (by id, email or phone), created if new.
    Returns None when the identity is empty (an anonymous contact)."""
    found = find_customer(organisation, identity)
    if found is not None:
        updates = []
        if identity.name and not found.name:
            found.name = identity.name[:200]
            updates.append("name")
        if identity.language and not found.language and identity.language in Language.values:
            found.language = identity.language
            updates.append("language")
        if updates:
            found.save(update_fields=updates)
        return found
    if identity.customer_id:
        raise ValidationFailed(_("No such customer."), code="customer_not_found",
                               field="customer")
    if not (identity.name or identity.email or identity.phone):
        return None
    try:
        with transaction.atomic():
            return create_customer(
                actor=actor, organisation=organisation, name=identity.name,
                emails=[identity.email] if identity.email else [],
                phones=[identity.phone] if identity.phone else [],
                language=identity.language,
            )
    except Conflict:  # created concurrently by another contact: use that one
        found = find_customer(organisation, identity)
        if found is None:
            raise
        return found


@atomic_action
def update_customer(
    *, actor: User, customer: Customer, name: str | None = None, language: str | None = None,
    add_emails: Sequence[str] = (), add_phones: Sequence[str] = (),
) -> Customer:
    _check_actor(actor, customer.organisation)
    if name is not None:
        customer.name = name.strip()[:200]
    if language is not None:
        if language and language not in Language.values:
            raise ValidationFailed(_("Language must be fi, sv or en."),
                                   code="invalid_language", field="language")
        customer.language = language
    customer.save()
    org = customer.organisation
    contacts = [CustomerContact(organisation=org, customer=customer, kind=ContactKind.EMAIL,
                                value=e.strip(), normalised=normalise_email(e))
                for e in map(_checked_email, add_emails)]
    contacts += [CustomerContact(organisation=org, customer=customer, kind=ContactKind.PHONE,
                                 value=p.strip(), normalised=_checked_phone(p))
                 for p in add_phones]
    try:
        with transaction.atomic():
            CustomerContact.objects.bulk_create(contacts)
        # what customer.contacts.all() would read back (spares the caller a query)
        customer._prefetched_objects_cache = {"contacts": contacts}  # type: ignore[attr-defined]
    except IntegrityError:
        raise Conflict(_("A customer with this email address or phone number already exists."),
                       code="customer_exists") from None
    emit_many([OutboxEvent(organisation_id=org.pk, topic="customer.updated",
                           aggregate="customer", aggregate_id=customer.pk, payload={})])
    return customer


@atomic_action
def create_api_token(*, actor: User | None, user: User, name: str) -> tuple[ApiToken, str]:
    """A new bearer token for ``user``. The raw token is returned once and never stored."""
    if actor is not None and actor.pk != user.pk and not actor.is_superuser:
        raise Forbidden(_("You can only create tokens for yourself."), code="token_forbidden")
    name = name.strip()[:100] or "token"
    raw = ApiToken.new_raw_token()
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10],
                                    token_hash=hash_token(raw))
    return token, raw


@atomic_action
def revoke_api_token(*, actor: User, token: ApiToken, as_admin: bool = False) -> ApiToken:
    """Revoke a token: one's own, or (``as_admin``) any token of the admin's organisation."""
    own = token.user_id == actor.pk
    admin_ok = as_admin and (actor.is_superuser or (
        actor.role == Role.ORG_ADMIN and token.user.organisation_id == actor.organisation_id))
    if not (own or admin_ok or actor.is_superuser):
        raise Forbidden(_("You can only revoke your own tokens."), code="token_forbidden")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        # verified tokens are cached briefly by the API (kapula.api.auth): forget this one
        # now and again after commit (a request in between may have cached it anew)
        from kapula.api.auth import forget_token

        digest = token.token_hash
        forget_token(digest)
        transaction.on_commit(lambda: forget_token(digest))
    return token


@atomic_action
def set_interface_language(*, actor: User, language: str) -> User:
    """Remember the language an agent chose for the workspace."""
    if language not in Language.values:
        raise ValidationFailed(_("Language must be fi, sv or en."), code="invalid_language",
                               field="language")
    if actor.language != language:
        User.objects.filter(pk=actor.pk).update(language=language)
        actor.language = language
    return actor
