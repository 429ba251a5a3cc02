"""The reviews app's models, one module per responsibility; Django finds them all through here.

config: Repository, Service, Source · findings: Finding · solving: SolveRun ·
proposals: Proposal, ProposalSkill, Decision · pull_requests: PullRequest · comments:
ReviewThread, ReviewComment · audit: AuditEvent · rollups: SavingsWeek, DecisionWeek, FunnelWeek ·
measurements: Series, Point, ProfileWindow, FunctionShare. Import them from `reviews.models`, as
migrations and the rest of the code do.
"""

from reviews.models.audit import AuditEvent
from reviews.models.comments import ReviewComment, ReviewThread
from reviews.models.config import (
    Repository,
    Service,
    Source,
    # Migration 0001 names the service defaults by this module's path.
    _default_fleet_servers,
    _default_price_per_kwh,
    _default_pue,
    _default_watts_per_server,
)
from reviews.models.delivery import FixDelivery
from reviews.models.findings import Finding
from reviews.models.measurements import FunctionShare, Point, ProfileWindow, Series
from reviews.models.proposals import Decision, Proposal, ProposalSkill
from reviews.models.pull_requests import PullRequest
from reviews.models.rollups import DecisionWeek, FunnelWeek, SavingsWeek
from reviews.models.solving import SolveRun

__all__ = [
    "AuditEvent",
    "Decision",
    "DecisionWeek",
    "Finding",
    "FixDelivery",
    "FunctionShare",
    "FunnelWeek",
    "Point",
    "ProfileWindow",
    "Proposal",
    "ProposalSkill",
    "PullRequest",
    "Repository",
    "ReviewComment",
    "ReviewThread",
    "SavingsWeek",
    "Series",
    "Service",
    "SolveRun",
    "Source",
    "_default_fleet_servers",
    "_default_price_per_kwh",
    "_default_pue",
    "_default_watts_per_server",
]
