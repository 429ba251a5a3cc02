"""A benchmark history file on the command line: the arguments and the import that
`manage.py import_history` and `manage.py detect` share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from reviews.detection.histories import FORMATS, HistoryError, history_read
from reviews.services.measurements import (
    HistoryImport,
    history_import,
    measured_service,
    repository_for,
)


def add_history_arguments(parser: Any) -> None:
    parser.add_argument("file", metavar="FILE", help="history file (asv/pyperf: or a directory)")
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--repository", metavar="R", help="a registered repository's name")
    parser.add_argument("--service", metavar="S", help="default: the repository's service")
    parser.add_argument(
        "--better", choices=["lower", "higher"], default="lower", help="for new series"
    )


def history_file_import(options: dict[str, Any]) -> HistoryImport:
    """Store the file the options name (idempotent, all or nothing); exit 2 on bad input."""
    try:
        repository = repository_for(options["repository"])
        service = measured_service(service=options["service"], repository=repository)
        return history_import(
            rows=history_read(Path(options["file"]), options["format"]),
            service=service,
            repository=repository,
            source=options["format"],
            actor=None,
            better=options["better"],
        )
    except HistoryError as exc:
        raise CommandError(f"{options['file']}: {exc}; nothing was stored", returncode=2) from None
