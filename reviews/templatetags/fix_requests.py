"""{% redecide_warning finding as warning %}: what Request fix would do to a standing decision;
{% solve_unavailable finding as reason %}: why it cannot be requested at all;
{% approval_delivery proposal as delivery %}: what approving it does (a local branch, a push, a
pull request), for the decision form.

The Fix panel shows the first as a confirm step and the second beside a disabled button; the
texts are the service's own, so the page, the 409 answer and the CLI's refusal say the same.
"""

from __future__ import annotations

from django import template

from reviews.models import Finding, Proposal
from reviews.selectors.proposals import proposal_repository
from reviews.selectors.repositories import ApprovalDelivery
from reviews.selectors.repositories import approval_delivery as _approval_delivery
from reviews.services.solving import redecide_warning as _redecide_warning
from reviews.services.solving import solve_unavailable_reason as _solve_unavailable_reason

register = template.Library()


@register.simple_tag
def redecide_warning(finding: Finding) -> str:
    return _redecide_warning(finding)


@register.simple_tag
def solve_unavailable(finding: Finding) -> str:
    """Why Request fix cannot work for this finding (no repository); "" when it can."""
    return _solve_unavailable_reason(finding)


@register.simple_tag
def approval_delivery(proposal: Proposal) -> ApprovalDelivery:
    return _approval_delivery(proposal_repository(proposal))
