"""Attachment input, validation and storage (content-addressed by SHA-256)."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from kapula.core.errors import TooLarge, ValidationFailed

BLOCKED_EXTENSIONS = {
    "exe", "bat", "cmd", "com", "scr", "js", "vbs", "msi", "ps1", "sh", "jar", "dll", "html",
    "htm", "svg", "hta", "lnk",
}


@dataclass
class AttachmentInput:
    filename: str
    content: bytes
    content_type: str = ""


@dataclass
class CheckedAttachment:
    filename: str
    content: bytes
    content_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def _clean_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return name[:200] or "attachment"


def check(items: list[AttachmentInput] | tuple[AttachmentInput, ...]) -> list[CheckedAttachment]:
    """Validate every attachment before anything is written; raise on the first bad one."""
    out = []
    limit = settings.KAPULA_MAX_ATTACHMENT_BYTES
    allowed = set(settings.KAPULA_ALLOWED_ATTACHMENT_TYPES)
    if len(items) > 20:
        raise ValidationFailed(_("At most 20 attachments per message."),
                               code="too_many_attachments", field="attachments")
    for item in items:
        filename = _clean_filename(item.filename)
        if len(item.content) > limit:
            raise TooLarge(
                _("The attachment %(name)s is too large (at most %(mb)s MB).")
                % {"name": filename, "mb": limit // (1024 * 1024)},
                code="attachment_too_large", field="attachments",
            )
        if not item.content:
            raise ValidationFailed(_("The attachment %(name)s is empty.") % {"name": filename},
                                   code="attachment_empty", field="attachments")
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        declared = (item.content_type or "").split(";")[0].strip().lower()
        guessed = mimetypes.guess_type(filename)[0] or ""
        content_type = declared if declared in allowed else guessed
        if ext in BLOCKED_EXTENSIONS or content_type not in allowed:
            raise ValidationFailed(
                _("Files of this type cannot be attached: %(name)s") % {"name": filename},
                code="attachment_type_forbidden", field="attachments",
            )
        out.append(CheckedAttachment(filename, item.content, content_type,
                                     hashlib.sha256(item.content).hexdigest()))
    return out


def store(checked: CheckedAttachment) -> str:
    """Write the bytes once per distinct content; return the storage name."""
    name = f"attachments/{checked.sha256[:2]}/{checked.sha256}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(checked.content))
    return name
