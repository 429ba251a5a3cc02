"""manage.py survey REPOSITORY [--profile FILE] [--json]: the survey (shared/spec/cli.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.detection.histories import HistoryError
from reviews.detection.profiles import PROFILE_FORMATS, profile_read
from reviews.models import Finding, Repository
from reviews.services.survey import DEFAULT_LIMIT, SurveyError, survey_run

# How a profile's format is told from its name when --profile-format is not given.
_SUFFIX_FORMATS = {".json": "speedscope", ".prof": "pstats", ".pstats": "pstats"}


def _format_for(path: Path, given: str | None) -> str:
    return given or _SUFFIX_FORMATS.get(path.suffix.lower(), "folded")


class Command(BaseCommand):
    help = (
        "Walk a registered repository's functions with every skill's static trigger and file "
        "the opportunities found (idempotent), ranked by estimated watts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("repository", metavar="REPOSITORY", help="a registered repository")
        parser.add_argument(
            "--profile", metavar="FILE", help="weight by each function's share in this profile"
        )
        parser.add_argument(
            "--profile-format",
            choices=PROFILE_FORMATS,
            help="default: speedscope for .json, pstats for .prof/.pstats, else folded stacks",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"file at most this many, most watts first (default {DEFAULT_LIMIT})",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        name = options["repository"]
        repository = Repository.objects.filter(name=name).first()
        if repository is None:
            raise CommandError(
                f"no registered repository is named {name!r}: register it with "
                "`manage.py add_repo NAME PATH --service S`",
                returncode=2,
            )
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1", returncode=2)
        profile = None
        if options["profile"]:
            path = Path(options["profile"])
            try:
                profile = profile_read(path, _format_for(path, options["profile_format"]))
            except HistoryError as exc:
                raise CommandError(f"{path}: {exc}; nothing was filed", returncode=2) from None
        started = time.monotonic()
        try:
            result = survey_run(repository=repository, profile=profile, limit=options["limit"])
        except SurveyError as exc:
            raise CommandError(str(exc), returncode=1) from None
        seconds = time.monotonic() - started
        if options["json"]:
            document = {"functions": result.functions, **result.as_dict(), "seconds": seconds}
            self.stdout.write(json.dumps(document))
            return
        self.stdout.write(
            f"{repository.name}: {result.functions} functions in {result.files} files "
            f"({result.lines:,} lines) surveyed in {seconds:.1f}s; {result.hits} trigger hits, "
            f"{len(result.opportunities)} opportunities ({len(result.created)} new)"
        )
        findings = Finding.objects.in_bulk(result.opportunities[:20])
        for pk in result.opportunities[:20]:
            finding = findings[pk]
            self.stdout.write(
                f"  #{pk:<6} {finding.estimated_watts:>10.1f} W  {finding.pattern:<22} "
                f"{finding.functions[0]['symbol']}"
            )
        if result.unparsable:
            self.stderr.write(f"not parsed (syntax errors): {', '.join(result.unparsable[:10])}")
