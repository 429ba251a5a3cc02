"""manage.py add_repo NAME PATH [...]: register or update a repository (shared/spec/cli.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from reviews.services.repositories import RepositoryError, repository_register


class Command(BaseCommand):
    help = (
        "Register a git repository under NAME (or update the one of that name). PATH must be "
        "the top of a git work tree. Options not given keep their stored values."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("path", metavar="PATH", help="top directory of a git work tree")
        parser.add_argument("--service", metavar="S", help="point service S at this repository")
        parser.add_argument("--test-cmd", metavar="CMD", help="e.g. 'python3 -m unittest -q'")
        parser.add_argument("--bench-cmd", metavar="CMD", help="e.g. 'python3 bench.py'")
        parser.add_argument("--branch", metavar="B", help="default branch (main when new)")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        try:
            registered = repository_register(
                name=options["name"],
                path=options["path"],
                service_name=options["service"],
                test_cmd=options["test_cmd"],
                bench_cmd=options["bench_cmd"],
                branch=options["branch"],
                actor=None,
            )
        except RepositoryError as exc:
            # Every refusal is about the arguments given: bad usage (cli.md).
            raise CommandError(str(exc), returncode=2) from None
        repository = registered.repository
        service = registered.service or repository.services.order_by("name").first()
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": repository.pk,
                        "name": repository.name,
                        "path": repository.path,
                        "service": service.name if service else None,
                    }
                )
            )
            return
        verb = "Registered" if registered.created else "Updated"
        self.stdout.write(
            f"{verb} repository {repository.name} (id {repository.pk}) at {repository.path}"
        )
        if service is not None:
            self.stdout.write(f"Service {service.name} uses it.")
