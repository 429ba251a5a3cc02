"""What the demo is made of: its users, its repositories' histories and the findings about them.

Plain data only; reviews.demo.builder turns it into git repositories and database rows. Each
repository is a sequence of fixture folders (reviews/demo/fixtures/<repo>/<step>/) laid over the
previous tree, one commit per folder, with fixed authors and dates so every build gives the same
commit shas (and so the same findings, which keeps re-running the demo idempotent).

Over 500 lines because it is seed data: every demo user, repository step and finding in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reviews.roles import MANAGER, REVIEWER, SKILL_ADMIN

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
COMMITTER = ("Wattson Demo", "demo@wattson.invalid")
TEST_CMD = "python3 -m unittest -q"
BENCH_CMD = "python3 bench.py"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str  # reviewer | manager | skill-admin | superuser
    full_name: str
    email: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class DemoCommit:
    step: str  # fixture folder laid over the tree before committing
    author: Person
    date: str  # ISO 8601; fixed so the shas are stable
    message: str


@dataclass(frozen=True)
class DemoFinding:
    """A finding about a demo repository; `root_cause_step` names the regressing commit."""

    external_id: str
    kind: str
    source: str
    title: str
    symbol: str
    file: str
    magnitude_pct: float
    age_hours: float
    root_cause_step: str = ""
    expected_skill: str = ""  # the skill that fixes it (tests hold the codemod to it)
    pattern: str = ""
    confidence: float = 0.9
    evidence: dict = field(default_factory=dict)
    # Filed by the detector from the repository's profile history (reviews.demo.history), not
    # ingested as written here; the fields above say what it must find.
    from_history: bool = False


@dataclass(frozen=True)
class DemoRepo:
    name: str
    service: str
    team: str
    fleet_servers: int
    commits: tuple[DemoCommit, ...]
    findings: tuple[DemoFinding, ...]

    @property
    def fixture_dir(self) -> Path:
        return FIXTURES_DIR / self.name


@dataclass(frozen=True)
class ExtraFinding:
    """A finding on a service whose code is not registered here: it fills the queue."""

    external_id: str
    kind: str
    source: str
    service: str
    title: str
    symbol: str
    magnitude_pct: float
    age_hours: float
    metric: str = "cpu"
    author: str = ""  # root-cause author's email (regressions)
    closed_reason: str = ""  # closed by a reviewer with this reason


USERS = (
    DemoUser("rita", REVIEWER, "Rita Alvarez", "rita@example.com", (REVIEWER, "team:billing")),
    DemoUser(
        "ravi",
        REVIEWER,
        "Ravi Menon",
        "ravi@example.com",
        (REVIEWER, "team:observability", "team:billing"),
    ),
    DemoUser("mona", MANAGER, "Mona Lindqvist", "mona@example.com", (MANAGER,)),
    DemoUser("sasha", SKILL_ADMIN, "Sasha Ivanova", "sasha@example.com", (SKILL_ADMIN,)),
    DemoUser("admin", "superuser", "Demo Admin", "admin@example.com"),
)
USER_BY_NAME = {user.username: user for user in USERS}

BASE = Person("Sam Okafor", "sam@example.com")
RITA = Person("Rita Alvarez", USER_BY_NAME["rita"].email)
RAVI = Person("Ravi Menon", USER_BY_NAME["ravi"].email)
LENA = Person("Lena Ortiz", "lena@example.com")

# Sources of the demo findings. Those of services without a registered repository do not
# auto-solve: there is no code to fix, so a solve could only fail.
DETECTOR = "perf-sentinel"
PROFILER = "fleet-profiler"
LEGACY_DETECTOR = "latency-watch"
SURVEY = "capacity-survey"
SOURCES = {DETECTOR: True, PROFILER: True, LEGACY_DETECTOR: False, SURVEY: False}

REPOS = (
    DemoRepo(
        name="invoice-render",
        service="billing-invoices",
        team="billing",
        fleet_servers=6_000,
        commits=(
            DemoCommit("1-base", BASE, "2026-10-06T09:12:00+00:00", "Invoice text renderer"),
            DemoCommit(
                "2-regression",
                RITA,
                "2026-11-17T15:40:00+00:00",
                "Strip control characters and typographic dashes for the thermal printer",
            ),
        ),
        findings=(
            DemoFinding(
                external_id="demo-invoice-render-clean-description",
                kind="regression",
                source=DETECTOR,
                title="CPU regression in invoicing.render.clean_description",
                symbol="invoicing.render.clean_description",
                file="invoicing/render.py",
                expected_skill="precompile-regex",
                magnitude_pct=3.2,
                age_hours=26,
                root_cause_step="2-regression",
                confidence=0.94,
                evidence={"cpu_share_pct_before": 1.4, "cpu_share_pct_after": 4.6, "hosts": 412},
            ),
        ),
    ),
    DemoRepo(
        name="pricing-engine",
        service="storage-pricing",
        team="billing",
        fleet_servers=2_400,
        # Deployed at 2-currency (last good) and 5-readme (first bad): three commits between
        # them for attribution to rank and bisect to settle (reviews.demo.history).
        commits=(
            DemoCommit("1-base", BASE, "2026-09-22T11:00:00+00:00", "Storage price quotes"),
            DemoCommit("2-currency", LENA, "2026-11-12T09:30:00+00:00", "Dollar amounts for PDFs"),
            DemoCommit(
                "3-regression",
                RITA,
                "2026-11-19T10:05:00+00:00",
                "Match products and regions case-insensitively for the new console",
            ),
            DemoCommit(
                "4-breakdown", LENA, "2026-11-20T16:30:00+00:00", "Itemised quote breakdown"
            ),
            DemoCommit("5-readme", BASE, "2026-11-21T08:10:00+00:00", "README: how to quote"),
        ),
        findings=(
            DemoFinding(
                external_id="demo-pricing-unit-price",
                kind="regression",
                source=DETECTOR,
                title="CPU regression in pricing.quote.unit_price",
                symbol="pricing.quote.unit_price",
                file="pricing/quote.py",
                expected_skill="memoize",
                magnitude_pct=4.5,
                age_hours=7,
                root_cause_step="3-regression",
                confidence=0.88,
                # Not sent as JSON: Wattson's own detector files it from the profile history.
                from_history=True,
            ),
        ),
    ),
    DemoRepo(
        name="telemetry-exporter",
        service="trace-exporter",
        team="observability",
        fleet_servers=38_000,
        commits=(
            DemoCommit("1-base", BASE, "2026-08-30T08:45:00+00:00", "Span exporter"),
            DemoCommit(
                "2-regression",
                RAVI,
                "2026-11-18T13:20:00+00:00",
                "Redact private span attributes; trace payloads during the collector move",
            ),
        ),
        findings=(
            DemoFinding(
                external_id="demo-telemetry-export-batches",
                kind="regression",
                source=DETECTOR,
                title="CPU regression in telemetry.export.export_batches",
                symbol="telemetry.export.export_batches",
                file="telemetry/export.py",
                expected_skill="logging-sampling",
                magnitude_pct=2.1,
                age_hours=49,
                root_cause_step="2-regression",
                confidence=0.91,
                evidence={"cpu_share_pct_before": 2.0, "cpu_share_pct_after": 4.1},
            ),
        ),
    ),
    DemoRepo(
        name="report-builder",
        service="usage-reports",
        team="billing",
        fleet_servers=3_000,
        commits=(
            DemoCommit("1-base", BASE, "2026-07-14T14:00:00+00:00", "CSV usage reports"),
            DemoCommit(
                "2-regression",
                RAVI,
                "2026-11-21T09:55:00+00:00",
                "CSV export: skip blank rows, optional byte-order mark for Excel",
            ),
        ),
        findings=(
            DemoFinding(
                external_id="demo-report-build-csv",
                kind="regression",
                source=DETECTOR,
                title="CPU regression in reports.csv_export.build_csv",
                symbol="reports.csv_export.build_csv",
                file="reports/csv_export.py",
                expected_skill="string-join",
                magnitude_pct=6.0,
                age_hours=3,
                root_cause_step="2-regression",
                confidence=0.97,
                evidence={"p99_export_ms_before": 140, "p99_export_ms_after": 2300},
            ),
        ),
    ),
    DemoRepo(
        name="reco-ranker",
        service="home-recommendations",
        team="personalization",
        fleet_servers=24_000,
        commits=(
            DemoCommit("1-base", BASE, "2026-10-28T12:30:00+00:00", "Home-page shelf ranking"),
        ),
        findings=(
            DemoFinding(
                external_id="demo-reco-eligible",
                kind="opportunity",
                source=PROFILER,
                title="Seller filter scans a 256-entry list for every candidate",
                symbol="ranking.shelf.eligible",
                file="ranking/shelf.py",
                expected_skill="membership-set",
                magnitude_pct=2.4,
                age_hours=70,
                pattern="membership-set",
                confidence=0.8,
                evidence={"survey": "2026-Q4 fleet CPU survey", "self_time_pct": 2.9},
            ),
            DemoFinding(
                external_id="demo-reco-score-candidates",
                kind="opportunity",
                source=PROFILER,
                title="Total weight recomputed for every candidate in score_candidates",
                symbol="ranking.shelf.score_candidates",
                file="ranking/shelf.py",
                expected_skill="hoist-loop-invariant",
                magnitude_pct=1.6,
                age_hours=70,
                confidence=0.7,
                evidence={"survey": "2026-Q4 fleet CPU survey", "self_time_pct": 1.9},
            ),
        ),
    ),
)

# Services without a registered repository: fleet size and team, for the savings estimates.
EXTRA_SERVICES = {
    "search-api": (12_000, "search"),
    "ads-auction": (36_000, "ads"),
    "media-transcoder": (8_000, "media"),
    "auth-gateway": (22_000, "identity"),
    "checkout-web": (9_000, "checkout"),
    "inventory-sync": (2_500, "supply"),
    "email-dispatch": (3_200, "messaging"),
    "geo-lookup": (4_800, "maps"),
    "feature-flags": (15_000, "platform"),
    "image-resizer": (11_000, "media"),
}

EXTRA_FINDINGS = (
    ExtraFinding(
        "lw-search-synonyms-1",
        "regression",
        LEGACY_DETECTOR,
        "search-api",
        "CPU regression in search.query.expand_synonyms",
        "search.query.expand_synonyms",
        2.2,
        5,
        author="ravi@example.com",
    ),
    ExtraFinding(
        "cs-ads-currency-table",
        "opportunity",
        SURVEY,
        "ads-auction",
        "Currency table rebuilt for every bid in auction.floor.bid_floor",
        "auction.floor.bid_floor",
        0.9,
        30,
    ),
    ExtraFinding(
        "lw-transcoder-probe-7",
        "regression",
        LEGACY_DETECTOR,
        "media-transcoder",
        "Memory regression in transcode.probe.read_headers",
        "transcode.probe.read_headers",
        4.0,
        52,
        metric="memory",
    ),
    ExtraFinding(
        "lw-auth-jwks-2",
        "regression",
        LEGACY_DETECTOR,
        "auth-gateway",
        "CPU regression in gateway.tokens.verify_jwt",
        "gateway.tokens.verify_jwt",
        1.3,
        9,
        author="rita@example.com",
    ),
    ExtraFinding(
        "cs-checkout-cart-json",
        "opportunity",
        SURVEY,
        "checkout-web",
        "Cart serialised twice per request in checkout.views.cart_summary",
        "checkout.views.cart_summary",
        1.1,
        200,
    ),
    ExtraFinding(
        "lw-inventory-diff-3",
        "regression",
        LEGACY_DETECTOR,
        "inventory-sync",
        "CPU regression in sync.diff.changed_skus",
        "sync.diff.changed_skus",
        7.5,
        14,
    ),
    ExtraFinding(
        "cs-email-template-parse",
        "opportunity",
        SURVEY,
        "email-dispatch",
        "Templates re-parsed for every recipient in dispatch.render.render_message",
        "dispatch.render.render_message",
        3.4,
        320,
    ),
    ExtraFinding(
        "lw-geo-haversine-1",
        "regression",
        LEGACY_DETECTOR,
        "geo-lookup",
        "Latency regression in geo.nearest.nearest_stores",
        "geo.nearest.nearest_stores",
        2.6,
        75,
        metric="latency",
    ),
    ExtraFinding(
        "cs-flags-rule-regex",
        "opportunity",
        SURVEY,
        "feature-flags",
        "Targeting rules compile their regex on every evaluation",
        "flags.targeting.matches",
        1.8,
        120,
    ),
    ExtraFinding(
        "lw-resizer-exif-4",
        "regression",
        LEGACY_DETECTOR,
        "image-resizer",
        "CPU regression in resizer.exif.strip_metadata",
        "resizer.exif.strip_metadata",
        3.1,
        30,
    ),
    ExtraFinding(
        "cs-search-stopwords",
        "opportunity",
        SURVEY,
        "search-api",
        "Stop-word list scanned per token in search.analyze.tokens",
        "search.analyze.tokens",
        0.7,
        410,
    ),
    ExtraFinding(
        "lw-ads-logging-5",
        "regression",
        LEGACY_DETECTOR,
        "ads-auction",
        "CPU regression in auction.bidder.collect_bids",
        "auction.bidder.collect_bids",
        0.6,
        98,
        author="ravi@example.com",
    ),
    ExtraFinding(
        "cs-transcoder-chunks",
        "opportunity",
        SURVEY,
        "media-transcoder",
        "Segment manifest built by repeated bytes concatenation",
        "transcode.manifest.build_manifest",
        1.2,
        260,
        closed_reason="Duplicate of the manifest rewrite already planned for Q1.",
    ),
    ExtraFinding(
        "lw-auth-session-6",
        "regression",
        LEGACY_DETECTOR,
        "auth-gateway",
        "CPU regression in gateway.sessions.refresh",
        "gateway.sessions.refresh",
        0.8,
        150,
        closed_reason="Expected: session refresh now checks revocation (security review SEC-88).",
    ),
    ExtraFinding(
        "cs-geo-grid-cache",
        "opportunity",
        SURVEY,
        "geo-lookup",
        "Grid cell of a store recomputed on every lookup",
        "geo.grid.cell_of",
        2.0,
        36,
    ),
    ExtraFinding(
        "lw-checkout-tax-8",
        "regression",
        LEGACY_DETECTOR,
        "checkout-web",
        "CPU regression in checkout.tax.line_tax",
        "checkout.tax.line_tax",
        1.9,
        20,
        author="rita@example.com",
    ),
    ExtraFinding(
        "cs-flags-json-config",
        "opportunity",
        SURVEY,
        "feature-flags",
        "Flag config JSON decoded per request instead of per change",
        "flags.store.current_config",
        4.2,
        500,
        closed_reason="The service moves to the shared config client next sprint.",
    ),
    ExtraFinding(
        "lw-email-dns-9",
        "regression",
        LEGACY_DETECTOR,
        "email-dispatch",
        "Latency regression in dispatch.mx.resolve",
        "dispatch.mx.resolve",
        5.5,
        60,
        metric="latency",
        closed_reason="Caused by the upstream DNS incident INC-2317, not by a code change.",
    ),
    ExtraFinding(
        "cs-inventory-membership",
        "opportunity",
        SURVEY,
        "inventory-sync",
        "Warehouse codes checked against a list in sync.filters.active_warehouses",
        "sync.filters.active_warehouses",
        1.5,
        44,
    ),
    ExtraFinding(
        "lw-resizer-pool-10",
        "regression",
        LEGACY_DETECTOR,
        "image-resizer",
        "CPU regression in resizer.pool.acquire",
        "resizer.pool.acquire",
        0.9,
        11,
    ),
)
