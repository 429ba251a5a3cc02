"""Which registered repository a finding's code lives in: the one rule, for every caller.

The solver, the approval gate and the pages all read the finding's code from this repository;
were they to resolve it differently, a reviewer could approve a diff against one checkout and
the fix branch land in another.
"""

from __future__ import annotations

from reviews.models import Finding, Repository


def finding_repository(finding: Finding) -> Repository | None:
    """The finding's own repository, else its service's; None when neither is registered."""
    if finding.repository_id:
        return finding.repository
    return finding.service.repository if finding.service_id else None
