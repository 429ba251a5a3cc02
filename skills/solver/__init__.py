"""The solver: plain SolveContext in, plain Candidate out (it never imports `reviews`).

Backends: `skills.solver.offline.solve` (codemods, no network) and, when present,
`skills.solver.anthropic_backend.solve`.
"""

from __future__ import annotations

from skills.solver.types import Candidate, SolveContext


def solve(context: SolveContext) -> Candidate:
    """The offline solver (imported lazily so `skills.solver.types` stays cheap to import)."""
    from skills.solver.offline import solve as offline_solve

    return offline_solve(context)


__all__ = ["Candidate", "SolveContext", "solve"]
