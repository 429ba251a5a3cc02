"""manage.py demo [--json] [--reset-passwords] [--solve-now]: load the demo (shared/spec/cli.md).

Creates a user per role with a random password printed once, builds small git repositories with
real regressions from reviews/demo/fixtures/, registers them with their services, and ingests
findings about them (plus others that fill the queue). Safe to run again: what exists is kept.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reviews.demo.builder import DemoError, DemoReport, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo: users for every role (passwords printed once), demo git repositories, "
        "their services and findings. Idempotent; the worker solves the findings."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="give the demo users new passwords (printed once)",
        )
        parser.add_argument(
            "--solve-now",
            action="store_true",
            help="solve the demo repositories' findings in this process instead of the worker",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # Well-known usernames with printed passwords have no place in a real deployment.
            raise CommandError(
                "the demo refuses to run with WATTSON_ENV=production: load it into a development "
                "database (unset WATTSON_ENV)",
                returncode=2,
            )
        # Auto-solve logs one "Enqueued" line per finding; the demo's own summary says it better.
        logging.getLogger("django-q").setLevel(logging.WARNING)
        try:
            report = demo_load(
                reset_passwords=options["reset_passwords"], solve_now=options["solve_now"]
            )
        except DemoError as exc:
            raise CommandError(str(exc), returncode=1) from None
        if options["json"]:
            self.stdout.write(json.dumps(self._as_json(report)))
        else:
            self._describe(report, solve_now=options["solve_now"])

    @staticmethod
    def _as_json(report: DemoReport) -> dict:
        return {
            "users": [
                {"username": u.username, "role": u.role, "password": u.password}
                for u in report.users
            ],
            "findings": report.findings_total,
            "proposals": report.proposals,
            # Extensions beyond cli.md's three keys.
            "findings_created": len(report.findings_created),
            "repositories": [
                {"name": b.repo.name, "path": str(b.path), "built": b.built}
                for b in report.repositories
            ],
            "solved": report.solved,
        }

    def _describe(self, report: DemoReport, *, solve_now: bool) -> None:
        new_passwords = [u for u in report.users if u.password]
        kept = [u.username for u in report.users if not u.password]
        if new_passwords:
            self.stdout.write("Demo users (passwords are shown this once; write them down):")
            for user in new_passwords:
                self.stdout.write(f"  {user.username:<8} {user.role:<12} {user.password}")
        if kept:
            self.stdout.write(
                f"Demo users already exist and keep their passwords: {', '.join(kept)} "
                "(`manage.py demo --reset-passwords` prints new ones)."
            )
        self.stdout.write("Demo repositories:")
        for built in report.repositories:
            state = "built" if built.built else "reused"
            self.stdout.write(f"  {built.repo.name:<20} {state:<7} {built.path}")
        self.stdout.write(
            f"Findings: {report.findings_total} ({len(report.findings_created)} new this run); "
            f"proposals: {report.proposals}."
        )
        if solve_now:
            if report.solve_skipped:
                self.stdout.write(f"Not solved now: {report.solve_skipped}.")
            for solved in report.solved:
                self.stdout.write(
                    f"  finding {solved['finding']}: run {solved['run']} {solved['status']}"
                    + (f", proposal {solved['proposal']}" if solved["proposal"] else "")
                )
        else:
            self.stdout.write(
                "The worker (`manage.py qcluster`, started by `bash .ci/dev`) solves the demo "
                "repositories' findings in the background; proposals appear within a minute."
            )
        self.stdout.write(
            f"Open {settings.WATTSON_PUBLIC_URL}/login/ and log in as rita (reviewer), "
            "mona (manager), sasha (skill-admin) or admin."
        )
