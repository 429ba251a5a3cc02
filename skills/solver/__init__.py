"""The solver: plain SolveContext in, plain Candidate out (it never imports `reviews`).

Backends: `skills.solver.offline.solve` (codemods, no network) and
`skills.solver.anthropic_backend.solve` (a tool-use agent). Both come by a diff their own way
and share everything after it: `skills.solver.pipeline` (scratch set-up, time budget,
validation, verdict, savings, a regression's parent), `gather` (the code a skill's trigger
sees) and `trace` (the record of every step). Callers import a backend's module directly:
this package imports no backend, so `skills.solver.types` stays cheap and free of cycles
(skills.selection, which the backends use, imports the types).
"""

from __future__ import annotations

from skills.solver.types import Candidate, SolveContext

__all__ = ["Candidate", "SolveContext"]
