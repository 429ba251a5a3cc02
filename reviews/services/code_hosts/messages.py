"""The title and Markdown body of a fix's pull / merge request.

What a maintainer needs to decide on it without opening Wattson: why (the rationale), what was
measured (tests, the benchmark before and after), what it saves (watts and dollars a year, and
how that was estimated), whose commit caused it, and a link back to the proposal.
"""

from __future__ import annotations

import re

from django.conf import settings

from reviews import patches
from reviews.models import Proposal
from skills.savings import dollars_per_year

# "@name" in text the solver wrote would notify whoever holds that name on the host.
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")


def _quiet_mentions(text: str) -> str:
    """The text with every @-mention broken by a word joiner, so it notifies nobody."""
    return _MENTION.sub("@\u2060", text)


def proposal_public_url(proposal: Proposal) -> str:
    return settings.WATTSON_PUBLIC_URL.rstrip("/") + proposal.get_absolute_url()


def request_title(proposal: Proposal) -> str:
    summary, _ = patches.message_parts(
        rationale=proposal.rationale, fallback_summary=f"Fix {proposal.finding.title}"
    )
    return summary


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g} s"


def _measurements(proposal: Proposal) -> list[str]:
    tests = {True: "passed", False: "failed", None: "not run"}[proposal.tests_passed]
    rows = [
        "| measure | value |",
        "|---|---|",
        f"| tests | {tests} |",
        f"| benchmark before | {_seconds(proposal.bench_before_s)} |",
        f"| benchmark after | {_seconds(proposal.bench_after_s)} |",
    ]
    if proposal.bench_parent_s is not None:
        rows.append(f"| at the root-cause commit's parent | {_seconds(proposal.bench_parent_s)} |")
    if proposal.bench_before_s and proposal.bench_after_s:
        rows.append(f"| speed-up | {proposal.bench_before_s / proposal.bench_after_s:.2f}× |")
    if proposal.measured_recovery is not None:
        share = "of the regression undone" if proposal.kind == "regression" else "recovered"
        rows.append(f"| recovery | {proposal.measured_recovery:.0%} {share} |")
    return rows


def _savings(proposal: Proposal) -> list[str]:
    service = proposal.finding.service
    price = service.price_per_kwh if service else 0.0
    lines = []
    estimated = proposal.estimated_watts or 0.0
    lines.append(
        f"- estimated: **{estimated:,.0f} W**, about ${dollars_per_year(estimated, price):,.0f}"
        " a year"
    )
    if proposal.measured_watts is not None:
        measured = proposal.measured_watts
        lines.append(
            f"- from the measured recovery: **{measured:,.0f} W**, about "
            f"${dollars_per_year(measured, price):,.0f} a year"
        )
    if service is not None:
        lines.append(
            f"- service {service.name}: {service.fleet_servers:,} servers × "
            f"{service.watts_per_server:g} W × PUE {service.pue:g}, "
            f"${service.price_per_kwh:g} per kWh"
        )
    return lines


def _root_cause(proposal: Proposal, *, reviewer: str, host_noun: str) -> list[str]:
    finding = proposal.finding
    if not finding.root_cause_commit and not finding.root_cause_author:
        return []
    commit = finding.root_cause_commit[:12]
    what = f"commit `{commit}`" if commit else "the root-cause commit"
    if finding.root_cause_title:
        what += f" ({finding.root_cause_title})"
    if reviewer:
        return [f"Caused by {what} by @{reviewer}, who is asked to review this {host_noun}."]
    author = finding.root_cause_author
    if author:
        # No host account matched the commit's email: name it so a maintainer can ask them.
        return [f"Caused by {what} by {author} (no account on this host matched that email)."]
    return [f"Caused by {what}."]


def request_body(proposal: Proposal, *, reviewer: str, host_noun: str, approver: str = "") -> str:
    finding = proposal.finding
    parts = [
        f"Wattson found a performance {finding.kind or 'problem'}: **{finding.title}**.",
        _quiet_mentions(proposal.rationale.strip()),
        "### Measurements",
        "\n".join(_measurements(proposal)),
        "### Savings",
        "\n".join(_savings(proposal)),
        "\n".join(_root_cause(proposal, reviewer=reviewer, host_noun=host_noun)),
        (
            f"Approved in Wattson{f' by {approver}' if approver else ''}: "
            f"[proposal {proposal.pk}, revision {proposal.revision}]"
            f"({proposal_public_url(proposal)})."
        ),
    ]
    return "\n\n".join(part for part in parts if part)
