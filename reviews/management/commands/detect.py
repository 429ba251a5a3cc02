"""manage.py detect FILE --format ...: a CI gate over a benchmark history (shared/spec/cli.md).

Stores the history (idempotent), runs change-point detection on every series it holds, files
regression findings (one per commit and function) and exits 1 when there is any regression.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from reviews.detection.changepoints import DetectorConfig
from reviews.management.history_file import add_history_arguments, history_file_import
from reviews.models import Series
from reviews.services.regressions import regression_findings_file, series_detect


class Command(BaseCommand):
    help = (
        "Read a benchmark history, store it, detect change points, file regression findings; "
        "exit 1 when a regression was found (a CI gate), 2 on bad input."
    )

    def add_arguments(self, parser) -> None:
        add_history_arguments(parser)
        parser.add_argument(
            "--alpha", type=float, default=DetectorConfig.alpha, help="significance per series"
        )
        parser.add_argument(
            "--family-alpha",
            type=float,
            help="instead of --alpha: the chance of any false alarm over the whole file "
            "(Bonferroni: each series is tested at this divided by the number of series)",
        )
        parser.add_argument(
            "--min-effect",
            type=float,
            default=DetectorConfig.min_effect,
            help="smallest relative change reported (0.01 = 1%%)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        family_alpha = options["family_alpha"]
        if family_alpha is not None and not 0 < family_alpha < 1:
            raise CommandError("--family-alpha must be in (0, 1)", returncode=2)
        if not 0 < options["alpha"] < 1 or not 0 <= options["min_effect"] < 10:
            raise CommandError(
                "--alpha must be in (0, 1) and --min-effect in [0, 10)", returncode=2
            )
        imported = history_file_import(options)
        alpha = options["alpha"]
        if family_alpha is not None:
            alpha = family_alpha / max(1, len(imported.series))
        config = DetectorConfig(alpha=alpha, min_effect=options["min_effect"])
        changes = []
        for series in Series.objects.filter(pk__in=imported.series).select_related("repository"):
            changes += series_detect(series=series, config=config)
        filed = regression_findings_file(changes, config=config)
        regressions = [
            {
                "finding": group.finding,
                "series": change.series,
                "commit": change.first_bad_commit,
                "magnitude_pct": round(change.magnitude_pct, 4),
                "p_value": change.p_value,
            }
            for group in filed
            for change in group.changes
        ]
        if options["json"]:
            self.stdout.write(
                json.dumps({"series": len(imported.series), "regressions": regressions})
            )
        else:
            self.stdout.write(
                f"{len(imported.series)} series, {imported.points_created} new points "
                f"({imported.points_existing} already stored)"
            )
            for item in regressions:
                self.stdout.write(
                    f"REGRESSION {item['series']}: +{item['magnitude_pct']:.2f}% at "
                    f"{item['commit'] or '?'} (p={item['p_value']:.2g}): "
                    f"finding #{item['finding']}"
                )
            if not regressions:
                self.stdout.write("no regression")
        if regressions:
            # A CI gate: the pipeline stops here. The findings are filed all the same.
            raise SystemExit(1)
