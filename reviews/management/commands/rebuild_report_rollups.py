"""Recompute the report rollups from the base tables (they are kept by triggers; this checks)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from reviews import rollups


class Command(BaseCommand):
    help = "Recompute the savings, decision and funnel rollups from proposals, decisions, findings."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            rollups.rebuild()
        self.stdout.write(self.style.SUCCESS("Report rollups rebuilt."))
