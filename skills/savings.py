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
