"""History values are shown in words and local time, not as stored codes."""

from __future__ import annotations

from django.utils import translation

from kapula.desk.templatetags.desk import history_value


def test_history_values_readable() -> None:
    with translation.override("en"):
        assert history_value("status", "pending_customer") == "Pending customer"
        assert history_value("priority", "1") == "Critical"
        shown = history_value("first_response_at", "2026-11-23T12:17:35.760891+00:00")
        assert shown == "11/23/2026 2:17 p.m."  # Europe/Helsinki, English short format
        assert history_value("first_response_at", "not a date") == "not a date"
        assert history_value("title", "Katuvalo") == "Katuvalo"
