"""manage.py add_repo NAME PATH|URL [...]: register or update a repository (shared/spec/cli.md).

A URL (https://, ssh://, git@host:path, file://) is cloned by each machine into its own mirror
when first needed; approved fixes are pushed back to it.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from reviews.services.repositories import RepositoryError, repository_register


class Command(BaseCommand):
    help = (
        "Register a git repository under NAME (or update the one of that name). PATH must be "
        "the top of a git work tree; a clone URL (https://, ssh://, git@host:path, file://) "
        "is mirrored by each machine instead. Options not given keep their stored values."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", metavar="NAME")
        parser.add_argument(
            "path",
            metavar="PATH|URL",
            help="top directory of a git work tree, or a clone URL (credentials from "
            "WATTSON_GIT_CREDENTIALS / WATTSON_GIT_TOKEN_<HOST>, never in the URL)",
        )
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
            document = {"id": repository.pk, "name": repository.name, "path": repository.path}
            if repository.url:  # cli.md: the URL form adds "url" (the path form is unchanged)
                document["url"] = repository.url
            document["service"] = service.name if service else None
            self.stdout.write(json.dumps(document))
            return
        verb = "Registered" if registered.created else "Updated"
        where = repository.url or repository.path
        self.stdout.write(f"{verb} repository {repository.name} (id {repository.pk}) at {where}")
        if service is not None:
            self.stdout.write(f"Service {service.name} uses it.")
