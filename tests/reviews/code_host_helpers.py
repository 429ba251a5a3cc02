"""Fixtures' building blocks for the code-host tests: an approved fix of a repository on a
fake GitHub or GitLab, with the settings and tokens pointing at the fake."""

from __future__ import annotations

import uuid

from django.utils import timezone

from reviews.models import Decision, Finding, Proposal, Repository, Service
from tests.reviews.gate_helpers import make_skill

ROOT_CAUSE = "c0ffee" + "0" * 34
RATIONALE = "Cache the parsed tariff\n\nThe regression re-parsed the tariff table per call.\n"


def approved_proposal(*, url: str, reviewer, author_email: str = "alice@example.com") -> Proposal:
    """An approved, current fix of a finding whose repository lives at `url`."""
    repository = Repository.objects.create(name=f"shop-{uuid.uuid4().hex[:6]}", url=url)
    service, _ = Service.objects.get_or_create(
        name="storefront", defaults={"fleet_servers": 2000, "watts_per_server": 300, "pue": 1.2}
    )
    finding = Finding.objects.create(
        kind=Finding.Kind.REGRESSION,
        source="test",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        repository=repository,
        title="price() got slower",
        metric="cpu",
        magnitude_pct=2.5,
        root_cause_commit=ROOT_CAUSE,
        root_cause_title="Inline the tariff parser",
        root_cause_author=author_email,
        status=Finding.Status.FIXED,
        estimated_watts=900.0,
    )
    skill = make_skill("memoize")
    proposal = Proposal.objects.create(
        finding=finding,
        revision=1,
        status=Proposal.Status.APPROVED,
        skill_version=skill.current_version,
        skill_slug=skill.slug,
        diff="diff --git a/x b/x\n",
        diff_sha256="2" * 64,
        rationale=RATIONALE,
        estimated_watts=900.0,
        measured_watts=810.0,
        measured_recovery=0.9,
        applies=True,
        tests_passed=True,
        bench_before_s=2.0,
        bench_after_s=1.25,
        bench_parent_s=1.2,
        branch_name=f"wattson/{finding.pk}-r1",
        branch_commit="3" * 40,
        decided_at=timezone.now(),
        in_reports=True,
    )
    Decision.objects.create(
        proposal=proposal,
        revision=1,
        diff_sha256=proposal.diff_sha256,
        reviewer=reviewer,
        verdict=Decision.Verdict.APPROVE,
    )
    return proposal
