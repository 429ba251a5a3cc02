"""manage.py ingest FILE|- [--json]: the CLI side of the findings ingest (shared/spec/cli.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reviews.services.ingest import IngestResult, finding_ingest
from reviews.services.ingest_validation import PayloadError, payload_parse


def _read(file: str) -> bytes:
    if file == "-":
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode()
    path = Path(file)
    if not path.exists():
        raise CommandError(f"{file}: no such file (pass a JSON file, or - for stdin)", returncode=2)
    if path.is_dir():
        raise CommandError(f"{file} is a directory: pass a JSON file, or - for stdin", returncode=2)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"{file}: cannot read it: {exc.strerror}", returncode=2) from None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class Command(BaseCommand):
    help = (
        "Ingest one finding or a list of findings (shared/spec/finding.schema.json) from FILE, "
        "or from stdin with -. Idempotent on (source, external_id); all or nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE", help="JSON file, or - to read stdin")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        file: str = options["file"]
        as_json: bool = options["json"]
        raw = _read(file)
        try:
            payload = payload_parse(raw)
        except PayloadError as exc:
            result = IngestResult(
                errors=[{"index": None, "field": "", "error": str(exc), "code": "invalid"}]
            )
        else:
            result = finding_ingest(payload=payload, actor=None)

        if as_json:
            # The contract is {"created", "existing", "errors": [{"index", "error"}]}; "field"
            # and "code" ride along as extensions.
            self.stdout.write(json.dumps(result.as_dict()))
        if not result.ok:
            for error in result.errors:
                where = "body" if error["index"] is None else f"finding {error['index']}"
                field = f"{error['field']}: " if error["field"] else ""
                self.stderr.write(f"{where}: {field}{error['error']}")
            bad = {e["index"] for e in result.errors}
            if None in bad:
                summary = f"{file} holds no finding Wattson can read"
            elif result.is_conflict:
                summary = (
                    f"{_plural(len(bad), 'finding')} in {file} reuse a stored (source, "
                    "external_id) with a different body"
                )
            else:
                summary = f"{_plural(len(bad), 'invalid finding')} in {file}"
            if result.has_bad_text:
                # Not a finding that failed a rule: input that is not text at all (bad usage).
                raise CommandError(
                    f"{file} holds text that is not valid Unicode (a lone surrogate such as "
                    "\\ud800, named above); nothing was ingested",
                    returncode=2,
                )
            raise CommandError(f"{summary}; nothing was ingested", returncode=1)
        if not as_json:
            if result.created:
                self.stdout.write(
                    f"Created {_plural(len(result.created), 'finding')}: "
                    + ", ".join(f"#{pk}" for pk in result.created)
                )
            if result.existing:
                self.stdout.write(
                    f"Already ingested, unchanged: {_plural(len(result.existing), 'finding')}: "
                    + ", ".join(f"#{pk}" for pk in result.existing)
                )
