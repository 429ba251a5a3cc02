"""The demo's past: sixteen weeks of decided proposals, so the reports show a trend.

Three findings a week on the services without a registered repository, each with one proposal
that a reviewer approved or rejected that week. The share approved climbs from about half to
about nine in ten (reviewers' trust grows as the skills improve), and the watts grow with the
fleet's share. Generated from fixed tables, never from a random source, so every run writes the
same rows. This is seed data for a demo, written as the records would stand after those weeks
(findings, proposals and decisions with their dates); the report rollups follow by their
triggers and the skills' statistics are rebuilt from the decisions afterwards.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from reviews.demo.catalog import LEGACY_DETECTOR, PROFILER
from reviews.models import Decision, Finding, Proposal, Service
from reviews.selectors.skill_decisions import decision_records
from skills.models import Skill
from skills.services import skill_stats_rebuild_all

WEEKS = 16
PER_WEEK = 3
# (skill, service, symbol): what the past findings were about, taken in turn.
SUBJECTS = (
    ("precompile-regex", "search-api", "search.query.normalize"),
    ("memoize", "geo-lookup", "geo.tiles.tile_bounds"),
    ("membership-set", "inventory-sync", "sync.filters.is_active_sku"),
    ("string-join", "email-dispatch", "dispatch.render.join_parts"),
    ("logging-sampling", "ads-auction", "auction.bidder.log_bid"),
    ("hoist-loop-invariant", "image-resizer", "resizer.plan.scale_steps"),
    ("memoize", "feature-flags", "flags.rules.compiled_rule"),
    ("precompile-regex", "checkout-web", "checkout.address.clean_postcode"),
)
REJECT_REASONS = (
    (Decision.Reason.NO_GAIN, "The benchmark gain is inside the noise on our fleet."),
    (Decision.Reason.READABILITY, "Harder to read than the time it saves is worth."),
    (Decision.Reason.NOT_ROOT_CAUSE, "The time goes into the caller, not here."),
)


@dataclass(frozen=True)
class PastDecision:
    external_id: str
    skill: str
    service: str
    symbol: str
    week: int  # 0 = sixteen weeks ago
    day: int  # within the week
    magnitude_pct: float
    approved: bool
    reviewer: str


def _approvals() -> list[bool]:
    """Each decision's verdict, oldest first: approvals track a share rising from 1/2 to 9/10.

    The n-th decision approves when the running sum of the shares passes a whole number.
    """
    verdicts, running = [], 0.0
    for week in range(WEEKS):
        share = 0.5 + 0.4 * week / (WEEKS - 1)
        for _ in range(PER_WEEK):
            before = running
            running += share
            verdicts.append(int(running) > int(before))
    return verdicts


def past_decisions() -> list[PastDecision]:
    verdicts = _approvals()
    decided = []
    for week in range(WEEKS):
        for index in range(PER_WEEK):
            number = week * PER_WEEK + index
            skill, service, symbol = SUBJECTS[number % len(SUBJECTS)]
            decided.append(
                PastDecision(
                    external_id=f"demo-past-{number + 1:03d}",
                    skill=skill,
                    service=service,
                    symbol=f"{symbol}_{number + 1}",
                    week=week,
                    day=(index * 2 + week) % 5,
                    # 0.6 % .. 3 % of the service's CPU, growing as the fleet does.
                    magnitude_pct=round(0.6 + 0.15 * week + 0.2 * index, 2),
                    approved=verdicts[number],
                    reviewer=("rita", "ravi")[number % 2],
                )
            )
    return decided


def _diff(symbol: str) -> str:
    module, _, name = symbol.rpartition(".")
    path = module.replace(".", "/") + ".py"
    return (
        f"--- a/{path}\n+++ b/{path}\n@@ -1,3 +1,3 @@\n def {name}(value):\n"
        f"-    return slow({name}, value)\n+    return fast({name}, value)\n \n"
    )


def demo_decided_history_ensure(*, now: datetime) -> list[int]:
    """Write the past decisions not yet written; the ids of the findings created."""
    wanted = past_decisions()
    stored = set(
        Finding.objects.filter(external_id__in=[p.external_id for p in wanted]).values_list(
            "external_id", flat=True
        )
    )
    missing = [p for p in wanted if p.external_id not in stored]
    if not missing:
        return []
    reviewers = {
        u.username: u for u in get_user_model().objects.filter(username__in=("rita", "ravi"))
    }
    services = {s.name: s for s in Service.objects.filter(name__in={p.service for p in missing})}
    skills = {s.slug: s for s in Skill.objects.filter(slug__in={p.skill for p in missing})}
    # The Monday sixteen weeks before this one.
    monday = (now - timedelta(days=now.weekday())).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    first_monday = monday - timedelta(weeks=WEEKS)
    created = []
    with transaction.atomic():
        for past in missing:
            if past.service not in services or past.skill not in skills:
                continue
            found_at = first_monday + timedelta(weeks=past.week, days=past.day)
            created.append(
                _write(past, services[past.service], skills[past.skill], reviewers, found_at)
            )
    skill_stats_rebuild_all(decision_records)
    return created


def _write(past: PastDecision, service: Service, skill: Skill, reviewers: dict, found_at) -> int:
    reviewer = reviewers[past.reviewer]
    decided_at = found_at + timedelta(hours=20 + past.day)
    recovery = skill.expected_recovery
    finding = Finding.objects.create(
        kind=Finding.Kind.OPPORTUNITY if past.week % 3 else Finding.Kind.REGRESSION,
        source=PROFILER if past.week % 3 else LEGACY_DETECTOR,
        external_id=past.external_id,
        payload_sha256=hashlib.sha256(past.external_id.encode()).hexdigest(),
        service=service,
        title=f"{skill.name} in {past.symbol}",
        metric="cpu",
        magnitude_pct=past.magnitude_pct,
        functions=[{"symbol": past.symbol}],
        status=Finding.Status.FIXED if past.approved else Finding.Status.REJECTED,
        assignee=reviewer,
        estimated_watts=service.watts_for_share(past.magnitude_pct),
    )
    version = skill.current_version
    diff = _diff(past.symbol)
    watts = service.watts_for_share(past.magnitude_pct, recovery)
    proposal = Proposal.objects.create(
        finding=finding,
        revision=1,
        status=Proposal.Status.APPROVED if past.approved else Proposal.Status.REJECTED,
        in_reports=True,
        skill_version=version,
        skill_slug=skill.slug,
        diff=diff,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest(),
        rationale=f"{skill.name}: the demo's review history.",
        expected_recovery=recovery,
        measured_recovery=recovery,
        estimated_watts=watts,
        measured_watts=watts,
        applies=True,
        tests_passed=True,
        decided_at=decided_at,
    )
    reason, comment = REJECT_REASONS[past.week % len(REJECT_REASONS)]
    decision = Decision.objects.create(
        proposal=proposal,
        revision=1,
        diff_sha256=proposal.diff_sha256,
        reviewer=reviewer,
        verdict=Decision.Verdict.APPROVE if past.approved else Decision.Verdict.REJECT,
        reason="" if past.approved else reason,
        comment="" if past.approved else comment,
    )
    # Dated as they happened (auto_now_add stamps the insert): the rollup triggers follow.
    proposed_at = found_at + timedelta(hours=2)
    Finding.objects.filter(pk=finding.pk).update(created_at=found_at)
    Proposal.objects.filter(pk=proposal.pk).update(
        created_at=proposed_at,
        finding_created_at=found_at,
        seconds_to_propose=(proposed_at - found_at).total_seconds(),
    )
    Decision.objects.filter(pk=decision.pk).update(
        created_at=decided_at, decision_seconds=(decided_at - proposed_at).total_seconds()
    )
    return finding.pk
