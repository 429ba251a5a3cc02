"""manage.py import_history FILE --format ...: store a benchmark history, detect nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.detection.histories import FORMATS, HistoryError, history_read
from reviews.services.measurements import history_import, measured_service, repository_for


class Command(BaseCommand):
    help = "Store a benchmark history (idempotent, all or nothing); exit 2 on bad input."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "file", metavar="FILE", help="history file (asv/pyperf: or a directory)"
        )
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--repository", metavar="R", help="a registered repository's name")
        parser.add_argument("--service", metavar="S", help="default: the repository's service")
        parser.add_argument("--better", choices=["lower", "higher"], default="lower")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        try:
            repository = repository_for(options["repository"])
            result = history_import(
                rows=history_read(Path(options["file"]), options["format"]),
                service=measured_service(service=options["service"], repository=repository),
                repository=repository,
                source=options["format"],
                actor=None,
                better=options["better"],
            )
        except HistoryError as exc:
            raise CommandError(
                f"{options['file']}: {exc}; nothing was stored", returncode=2
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"{len(result.series)} series ({result.series_created} new), "
                f"{result.points_created} new points, {result.points_existing} already stored"
            )
