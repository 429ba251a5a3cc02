"""{{ finding|size_formula }}: the inputs of a finding's size in watts, for a title or a note."""

from __future__ import annotations

from django import template

from reviews.models import Finding
from skills.savings import formula_text

register = template.Library()


@register.filter
def size_formula(finding: Finding) -> str:
    """ "fleet 6,000 × 350 W × PUE 1.2 × 2.5 %": what the slow code draws, before any fix."""
    service = finding.service
    return formula_text(
        servers=service.fleet_servers,
        watts_per_server=service.watts_per_server,
        pue=service.pue,
        share_pct=finding.magnitude_pct,
    )
