"""Logging helpers."""

from __future__ import annotations

import logging
from logging.handlers import WatchedFileHandler
from pathlib import Path


class EventLogHandler(WatchedFileHandler):
    """JSON lines of domain events in a file (for log shipping); the folder is created on
    first use and the file is reopened when rotated away (logrotate-friendly)."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        super().emit(record)
