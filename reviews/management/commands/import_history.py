"""manage.py import_history FILE --format ...: store a benchmark history, detect nothing."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from reviews.management.history_file import add_history_arguments, history_file_import


class Command(BaseCommand):
    help = "Store a benchmark history (idempotent, all or nothing); exit 2 on bad input."

    def add_arguments(self, parser) -> None:
        add_history_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        result = history_file_import(options)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"{len(result.series)} series ({result.series_created} new), "
                f"{result.points_created} new points, {result.points_existing} already stored"
            )
