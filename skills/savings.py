"""The savings model: watts a fix saves across a fleet, and what they cost a year.

The one home of the formula (README "Savings"): the solver's estimates, ingest's watts at stake,
the proposal page and the reports all call these. Plain arithmetic, no Django, so every layer
may import it.
"""

from __future__ import annotations

# 8,760 hours a year / 1,000: one watt drawn for a year is 8.76 kWh.
KWH_PER_WATT_YEAR = 8.76


def fleet_watts(
    *, servers: int, watts_per_server: float, pue: float, share_pct: float, recovery: float = 1.0
) -> float:
    """Fleet × watts per server × PUE × the finding's share of CPU × the share recovered."""
    return servers * watts_per_server * pue * (share_pct / 100.0) * recovery


def dollars_per_year(watts: float, price_per_kwh: float) -> float:
    """Watts × 8.76 (kWh per watt-year) × price per kWh."""
    return watts * KWH_PER_WATT_YEAR * price_per_kwh


# The formulas in words, for the pages, the reports and the API (they say what a number is).
SIZE_FORMULA = "fleet servers × watts per server × PUE × the finding's share of CPU"
ESTIMATED_FORMULA = f"{SIZE_FORMULA} × the skill's expected recovery"
MEASURED_FORMULA = f"{SIZE_FORMULA} × the recovery validation measured"
DOLLARS_FORMULA = f"watts × {KWH_PER_WATT_YEAR} kWh per watt-year × the service's price per kWh"


def formula_text(
    *,
    servers: int,
    watts_per_server: float,
    pue: float,
    share_pct: float,
    recovery: float | None = None,
    recovery_label: str = "recovery",
) -> str:
    """fleet_watts's inputs as a reader checks them: "fleet 6,000 × 350 W × PUE 1.2 × 2.5 %"
    (then "× expected recovery 0.9" when a recovery applies)."""
    parts = [f"fleet {servers:,}", f"{watts_per_server:g} W", f"PUE {pue:g}", f"{share_pct:g} %"]
    if recovery is not None:
        parts.append(f"{recovery_label} {recovery:.3g}")
    return " × ".join(parts)
