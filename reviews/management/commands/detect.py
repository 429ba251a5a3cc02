"""manage.py detect FILE --format ...: a CI gate over a benchmark history (shared/spec/cli.md).

Stores the history (idempotent), runs change-point detection on every series it holds, files
regression findings (one per commit and function) and exits 1 when there is any regression.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.detection.changepoints import DetectorConfig
from reviews.detection.histories import FORMATS, HistoryError, history_read
from reviews.models import Series
from reviews.services.measurements import history_import, measured_service, repository_for
from reviews.services.regressions import regression_findings_file, series_detect


class Command(BaseCommand):
    help = (
        "Read a benchmark history, store it, detect change points, file regression findings; "
        "exit 1 when a regression was found (a CI gate), 2 on bad input."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "file", metavar="FILE", help="history file (asv/pyperf: or a directory)"
        )
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--repository", metavar="R", help="a registered repository's name")
        parser.add_argument("--service", metavar="S", help="default: the repository's service")
        parser.add_argument(
            "--better", choices=["lower", "higher"], default="lower", help="for new series"
        )
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
        try:
            repository = repository_for(options["repository"])
            service = measured_service(service=options["service"], repository=repository)
            rows = history_read(Path(options["file"]), options["format"])
            imported = history_import(
                rows=rows,
                service=service,
                repository=repository,
                source=options["format"],
                actor=None,
                better=options["better"],
            )
        except HistoryError as exc:
            raise CommandError(
                f"{options['file']}: {exc}; nothing was stored", returncode=2
            ) from None
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
