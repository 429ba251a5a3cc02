"""manage.py import_profile FILE --format folded|speedscope|pstats --service S --start T --end T."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.detection.histories import HistoryError, parse_time
from reviews.detection.profiles import PROFILE_FORMATS, profile_read
from reviews.services.measurements import measured_service, profile_import, repository_for


class Command(BaseCommand):
    help = (
        "Store a profile of one time window as each function's inclusive share (idempotent); "
        "exit 2 on bad input."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE")
        parser.add_argument("--format", required=True, choices=PROFILE_FORMATS)
        parser.add_argument("--service", metavar="S", help="default: the repository's service")
        parser.add_argument("--repository", metavar="R", help="a registered repository's name")
        parser.add_argument("--start", required=True, metavar="T", help="ISO 8601 or unix seconds")
        parser.add_argument("--end", required=True, metavar="T", help="ISO 8601 or unix seconds")
        parser.add_argument("--commit", default="", metavar="C", help="the deployed commit")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        try:
            repository = repository_for(options["repository"])
            window, created = profile_import(
                data=profile_read(Path(options["file"]), options["format"]),
                service=measured_service(service=options["service"], repository=repository),
                repository=repository,
                start=parse_time(options["start"], field="start"),
                end=parse_time(options["end"], field="end"),
                commit=options["commit"].strip()[:64],
                source=options["format"],
                actor=None,
            )
        except HistoryError as exc:
            raise CommandError(
                f"{options['file']}: {exc}; nothing was stored", returncode=2
            ) from None
        functions = window.shares.count()
        if options["json"]:
            self.stdout.write(
                json.dumps({"window": window.pk, "created": created, "functions": functions})
            )
        else:
            state = "stored" if created else "already stored, unchanged"
            self.stdout.write(f"profile window #{window.pk} {state}: {functions} functions")
