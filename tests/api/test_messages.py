"""Messages and attachments: list, reply, note, multipart upload, download, limits."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kapula.api.schemas import MessageOut, MessagePage
from kapula.tickets.models import Attachment, Message, Ticket
from tests.api.conftest import new_ticket

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path


def test_reply_and_note(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.post(f"/tickets/{data['id']}/messages",
                        {"kind": "reply", "body": "Korjaamme valon huomenna."})
    assert response.status_code == 201, response.content
    MessageOut.model_validate(response.json())
    assert response.json()["kind"] == "reply"
    response = api.post(f"/tickets/{data['id']}/messages",
                        {"kind": "note", "body": "Urakoitsija tilattu."},
                        headers={"If-Match": '"2"'})
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=data["id"])
    assert ticket.status == "open" and ticket.message_count == 3
    page = api.get(f"/tickets/{data['id']}/messages")
    assert page.status_code == 200
    MessagePage.model_validate(page.json())
    assert [m["kind"] for m in page.json()["items"]] == ["inbound", "reply", "note"]


def test_stale_message_version_is_409(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.post(f"/tickets/{data['id']}/messages",
                        {"kind": "note", "body": "x", "version": 7})
    assert response.status_code == 409 and response.json()["code"] == "stale_version"
    assert Message.objects.count() == 1


def test_messages_cursor_and_query_count(world, api, django_assert_max_num_queries
                                         ) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    for i in range(5):
        api.post(f"/tickets/{data['id']}/messages", {"kind": "note", "body": f"n{i}"})
    # token, scope (2), ticket, messages, attachments
    with django_assert_max_num_queries(6):
        first = api.get(f"/tickets/{data['id']}/messages", {"limit": 4}).json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = api.get(f"/tickets/{data['id']}/messages",
                   {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [m["body_text"] for m in rest["items"]] == ["n3", "n4"]
    assert rest["next_cursor"] is None


def test_upload_and_download(world, api, other_api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.upload(f"/tickets/{data['id']}/messages/upload", {
        "kind": "reply", "body": "Kuva liitteenä.",
        "files": [SimpleUploadedFile("kuva.png", PNG, content_type="image/png"),
                  SimpleUploadedFile("ohje.txt", b"hello", content_type="text/plain")],
    })
    assert response.status_code == 201, response.content
    attachments = response.json()["attachments"]
    assert [a["filename"] for a in attachments] == ["kuva.png", "ohje.txt"]
    download = api.client.get(attachments[0]["url"],
                              headers={"Authorization": f"Bearer {api.token}"})
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    # the other organisation cannot fetch it, and learns nothing
    response = other_api.get(f"/attachments/{attachments[0]['id']}")
    assert response.status_code == 404 and response.json()["code"] == "attachment_not_found"
    assert other_api.get("/attachments/987654").json() == response.json()


@pytest.mark.parametrize(("filename", "content", "ctype", "code", "status"), [
    ("virus.exe", b"MZ....", "application/octet-stream", "attachment_type_forbidden", 422),
    ("page.html", b"<script>alert(1)</script>", "text/html", "attachment_type_forbidden", 422),
    ("kuva.svg", b"<svg/>", "image/svg+xml", "attachment_type_forbidden", 422),
    ("empty.txt", b"", "text/plain", "attachment_empty", 422),
    ("big.txt", b"x" * 2048, "text/plain", "attachment_too_large", 413),
])
def test_bad_attachments_change_nothing(world, api, settings, filename, content, ctype, code,
                                        status) -> None:  # type: ignore[no-untyped-def]
    settings.KAPULA_MAX_ATTACHMENT_BYTES = 1024
    data = new_ticket(api)
    response = api.upload(f"/tickets/{data['id']}/messages/upload", {
        "kind": "note", "body": "Liite", "files": [SimpleUploadedFile(filename, content,
                                                                     content_type=ctype)]})
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert Message.objects.count() == 1
    assert Attachment.objects.count() == 0
    ticket = Ticket.objects.get(pk=data["id"])
    assert (ticket.version, ticket.message_count) == (1, 1)


def test_upload_bad_kind(world, api) -> None:  # type: ignore[no-untyped-def]
    data = new_ticket(api)
    response = api.upload(f"/tickets/{data['id']}/messages/upload",
                          {"kind": "inbound", "body": "x"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_kind"
    response = api.upload(f"/tickets/{data['id']}/messages/upload", {"body": "x"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    assert Message.objects.count() == 1
