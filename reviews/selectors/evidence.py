"""What the proposal page shows as evidence: savings in watts and dollars, validation badges,
and what the model cost. Computed here so the page, and anything else that shows them, agree.

Dollars come from skills.savings (the one formula); "validation passed" itself is
Proposal.validation_passed, these badges only describe each check.
"""

from __future__ import annotations

from typing import Any

from reviews.models import Proposal
from skills.savings import KWH_PER_WATT_YEAR, dollars_per_year, formula_text


def _dollars(watts: float | None, price_per_kwh: float) -> float | None:
    return None if watts is None else dollars_per_year(watts, price_per_kwh)


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


def _price_label(price: float) -> str:
    # Cents as money is usually written, more digits only when the price has them.
    return f"{price:.2f}" if round(price, 2) == price else f"{price:g}"


def _formula(proposal: Proposal, recovery: float | None, label: str) -> str:
    """The inputs of a figure as the service and finding hold them now (the figure itself was
    computed when the solver ran; an admin may have edited the fleet since)."""
    if recovery is None:
        return ""
    service, finding = proposal.finding.service, proposal.finding
    return formula_text(
        servers=service.fleet_servers,
        watts_per_server=service.watts_per_server,
        pue=service.pue,
        share_pct=finding.magnitude_pct,
        recovery=recovery,
        recovery_label=label,
    )


def proposal_savings(*, proposal: Proposal) -> dict[str, Any]:
    """Estimated and measured watts with their dollars a year and the formula of each, the
    benchmark and recovery."""
    price = proposal.finding.service.price_per_kwh
    before, after = proposal.bench_before_s, proposal.bench_after_s
    return {
        "estimated_formula": _formula(proposal, proposal.expected_recovery, "expected recovery"),
        "measured_formula": _formula(proposal, proposal.measured_recovery, "measured recovery"),
        "price_per_kwh": price,
        "price_label": _price_label(price),
        "kwh_per_watt_year": KWH_PER_WATT_YEAR,
        "estimated_watts": proposal.estimated_watts,
        "estimated_dollars": _dollars(proposal.estimated_watts, price),
        "measured_watts": proposal.measured_watts,
        "measured_dollars": _dollars(proposal.measured_watts, price),
        "bench_before_s": before,
        "bench_after_s": after,
        "bench_parent_s": proposal.bench_parent_s,
        "speedup": before / after if before and after else None,
        "expected_recovery": proposal.expected_recovery,
        "expected_recovery_pct": _pct(proposal.expected_recovery),
        "measured_recovery": proposal.measured_recovery,
        "measured_recovery_pct": _pct(proposal.measured_recovery),
    }


def _bench_badge(proposal: Proposal) -> tuple[str, str]:
    before, after = proposal.bench_before_s, proposal.bench_after_s
    if not (before and after):
        return "none", "not benchmarked"
    if after < before:
        return "pass", f"benchmark {before / after:.2f}× faster"
    return "fail", "no speed-up"


def proposal_badges(*, proposal: Proposal) -> list[dict[str, Any]]:
    """The three badges: applies, tests, benchmark. state: pass | fail | none."""
    if proposal.is_analysis:
        return []
    if proposal.tests_passed is None:
        tests_state, tests_text = "none", "no test command"
    else:
        tests_state = "pass" if proposal.tests_passed else "fail"
        tests_text = "tests pass" if proposal.tests_passed else "tests fail"
    bench_state, bench_text = _bench_badge(proposal)
    return [
        {
            "name": "applies",
            "state": "pass" if proposal.applies else "fail",
            "text": "applies cleanly" if proposal.applies else "does not apply",
            "log": proposal.apply_log,
        },
        {"name": "tests", "state": tests_state, "text": tests_text, "log": proposal.test_log},
        {"name": "benchmark", "state": bench_state, "text": bench_text, "log": proposal.bench_log},
    ]


def _usage_rows(usage: Any) -> list[tuple[str, str]]:
    if not isinstance(usage, dict):
        return []
    rows = []
    for key, value in usage.items():
        if key == "cost_usd" or isinstance(value, dict | list):
            continue
        label = str(key).replace("_", " ")
        rows.append((label, f"{value:,}" if isinstance(value, int) else str(value)))
    return rows


def proposal_model_cost(*, proposal: Proposal) -> tuple[float | None, list[tuple[str, str]]]:
    """What the model calls cost in dollars (None: unknown) and the token usage as rows."""
    run = proposal.solve_run
    usage = proposal.usage or (run.usage if run else {}) or {}
    cost = proposal.cost_usd
    if cost is None and isinstance(usage, dict) and usage.get("cost_usd") is not None:
        cost = usage.get("cost_usd")
    return cost, _usage_rows(usage)
