"""Mail from suppliers: the email channel asks :func:`take_supplier_mail` about every
message before treating it as a customer's. A message is the supplier's when its sender is
the address of an active email supplier of the organisation and it threads to a ticket that
supplier was engaged on: by a reference to a mail Kapula sent (In-Reply-To, References),
to a message of the ticket, or by the ticket number in the subject. It then becomes an
internal note (never the customer's conversation, never a new ticket or customer).

Mail from other senders costs nothing: the suppliers' addresses are cached per process
with the rest of the organisation's configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kapula.core.models import Organisation
from kapula.core.text import normalise_email
from kapula.intake.actions import find_number
from kapula.intake.mail.models import OutboundEmail
from kapula.suppliers.actions import record_supplier_reply
from kapula.suppliers.models import Supplier, SupplierChannel, SupplierEngagement
from kapula.tickets import config
from kapula.tickets.models import Message, Ticket

if TYPE_CHECKING:
    from kapula.intake.mail.models import InboundEmail
    from kapula.intake.mail.parse import ParsedEmail


def supplier_addresses(organisation_id: int) -> dict[str, int]:
    """Normalised address -> supplier id, for the organisation's active email suppliers."""
    return config.cached("supplier_addresses", organisation_id, lambda: {
        normalise_email(email): pk for pk, email in Supplier.objects.filter(
            organisation_id=organisation_id, is_active=True, channel=SupplierChannel.EMAIL)
        .exclude(email="").values_list("id", "email")})


def _thread(parsed: ParsedEmail, org: Organisation) -> Ticket | None:
    refs = [r for r in [*parsed.references, *parsed.in_reply_to] if r][-50:]
    if refs:
        sent = (OutboundEmail.objects.filter(organisation=org, msgid__in=refs)
                .select_related("ticket").order_by("-id").first())
        if sent is not None:
            return sent.ticket
        msg = (Message.objects.filter(ticket__organisation=org, external_id__in=refs)
               .select_related("ticket").order_by("-id").first())
        if msg is not None:
            return msg.ticket
    number = find_number(parsed.subject, org.ticket_prefix)
    return Ticket.objects.filter(organisation=org, number=number).first() if number else None


def take_supplier_mail(row: InboundEmail, parsed: ParsedEmail,
                       org: Organisation) -> Ticket | None:
    """Add a supplier's mail to its ticket as an internal note and return the ticket; None
    when the mail is not a supplier's (the caller goes on as usual)."""
    supplier_id = supplier_addresses(org.pk).get(normalise_email(parsed.from_addr or ""))
    if supplier_id is None:
        return None
    ticket = _thread(parsed, org)
    seen = 0
    while ticket is not None and ticket.merged_into_id and seen < 20:
        ticket = Ticket.objects.filter(pk=ticket.merged_into_id).first()
        seen += 1
    if ticket is None:
        return None
    engagement = (SupplierEngagement.objects.select_related("supplier", "ticket")
                  .filter(ticket=ticket, supplier_id=supplier_id)
                  .order_by("-sent_at", "-id").first())
    if engagement is None:
        return None
    from kapula.intake.mail.ingest import _attachments, _body  # the channel's own rules

    kept, _withheld = _attachments(parsed)
    row.message = record_supplier_reply(
        engagement=engagement, body=_body(parsed, org), subject=parsed.subject,
        external_id=row.msgid, automatic=bool(parsed.auto_kind), attachments=kept)
    return engagement.ticket
