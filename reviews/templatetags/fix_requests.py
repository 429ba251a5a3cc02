"""{% redecide_warning finding as warning %}: what Request fix would do to a standing decision.

The Fix panel shows it as a confirm step; the text is the service's own, so the page, the API's
409 and the CLI's refusal say the same thing.
"""

from __future__ import annotations

from django import template

from reviews.models import Finding
from reviews.services.solving import redecide_warning as _redecide_warning

register = template.Library()


@register.simple_tag
def redecide_warning(finding: Finding) -> str:
    return _redecide_warning(finding)
