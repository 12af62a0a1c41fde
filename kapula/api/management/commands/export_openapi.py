"""``kapula export_openapi --output PATH`` writes the OpenAPI schema;
``--check PATH`` fails (with a diff) when the committed file differs from the code."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def schema_text() -> str:
    from kapula.api.urls import api

    schema = api.get_openapi_schema(path_params={})
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Write the REST API's OpenAPI schema, or check a committed copy against the code."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--output", help="Write the schema here ('-' for stdout).")
        group.add_argument("--check", help="Compare this file with the schema of the code.")

    def handle(self, *args: Any, **options: Any) -> None:
        from django.utils import translation

        with translation.override("en"):
            text = schema_text()
        if options["check"]:
            path = Path(options["check"])
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                diff = difflib.unified_diff(current.splitlines(keepends=True),
                                            text.splitlines(keepends=True),
                                            fromfile=str(path), tofile="code")
                self.stdout.write("".join(diff))
                raise CommandError(f"{path} is out of date: run "
                                   f"`kapula export_openapi --output {path}`.")
            self.stdout.write(f"{path} matches the code.")
            return
        output = options["output"] or "-"
        if output == "-":
            self.stdout.write(text, ending="")
        else:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
