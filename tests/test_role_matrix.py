"""Who may reach what: every URL of the project against every persona.

The URL list is read from the resolver when the tests are collected, so a URL added later is
checked without touching this file. Path parameters are filled with the ids of real objects made
in the `world` fixture, chosen by parameter name (`finding_id`, `proposal_pk`, `pk` after
`proposals/`, ...). A URL this file cannot fill falls back to a finding's id and still runs.

The rules, by persona (pages are everything outside /api/):

| persona   | page GET                      | API GET  | POST                                |
|-----------|-------------------------------|----------|-------------------------------------|
| anonymous | redirect to /login/           | 401/403  | —                                   |
| outsider  | 403 (or 404)                  | 401-404  | —                                   |
| manager   | 200 (405 if POST-only)        | 200/405  | never succeeds: 403 (405 if GET-only)|
| reviewer  | 200 (405 if POST-only)        | 200/405  | — (acting would change the world)   |

Only the URLs in PUBLIC are reachable without logging in.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import (
    IntConverter,
    PathConverter,
    SlugConverter,
    StringConverter,
    UUIDConverter,
)
from django.urls.exceptions import NoReverseMatch
from django.urls.resolvers import RoutePattern

from reviews.models import AuditEvent, Decision, Finding, Proposal, Repository, Service, SolveRun
from skills.models import Skill
from tests.scenarios import build_scenario

# Reachable without logging in, by URL name.
PUBLIC = {
    "login",
    "logout",
    # Probes for a load balancer: they reveal only up/down and which part is failing.
    "healthz",
    "readyz",
    # Guarded by its own bearer token (WATTSON_METRICS_TOKEN) for the scraper, not a login.
    "metrics",
}
# Not ours to check: Django's admin has its own login, static files have no auth.
SKIPPED_PREFIXES = ("admin/", "static/", "media/")

# Exceptions to the table above, by URL name and persona: the statuses allowed instead, and why.
# Keep this short; each entry is a decision someone made on purpose.
OVERRIDES: dict[str, dict[str, set[int]]] = {
    # Picking a revision to compare with redirects to that interdiff.
    "proposal_interdiff_pick": {"manager": {302}, "reviewer": {302}},
    # Code-host webhooks: the hosts cannot log in, so a delivery proves itself with its
    # signature (GitHub's HMAC, GitLab's token) instead; anyone without one, logged in or not,
    # gets 403, never the login page.
    "webhook_github": {"anonymous": {403}},
    "webhook_gitlab": {"anonymous": {403}},
}
# Query strings some pages need to answer 200 (by URL name); a function of the world.
QUERIES = {
    "proposal_context": lambda world: {"file": 0, "from": 1, "to": 3},
    "proposal_interdiff_context": lambda world: {"file": 0, "from": 1, "to": 3},
    "proposal_interdiff_pick": lambda world: {"against": world["proposal"][1].pk},
}

_CONVERTER_KIND = {
    IntConverter: "int",
    SlugConverter: "slug",
    StringConverter: "str",
    PathConverter: "path",
    UUIDConverter: "uuid",
}
# Parameter stems that name the same kind of object.
_ALIASES = {
    "repo": "repository",
    "repositorie": "repository",
    "run": "solverun",
    "solve_run": "solverun",
    "solve-run": "solverun",
    "version": "skillversion",
    "skill_version": "skillversion",
    "event": "auditevent",
    "audit": "auditevent",
    "audit_event": "auditevent",
    "review": "decision",
    "my_review": "decision",
}


@dataclass(frozen=True)
class Route:
    name: str  # "reviews:finding", or the route text when the pattern has no name
    route: str  # the full pattern text, e.g. "findings/<int:finding_id>/"
    params: tuple[tuple[str, str], ...]  # (parameter, converter kind)
    reversible: bool

    @property
    def is_api(self) -> bool:
        return self.route.lstrip("^").startswith("api/")

    @property
    def short_name(self) -> str:
        return self.name.rsplit(":", 1)[-1]


def _params(pattern) -> list[tuple[str, str]]:
    if isinstance(pattern, RoutePattern):
        return [
            (name, _CONVERTER_KIND.get(type(c), "str")) for name, c in pattern.converters.items()
        ]
    return [(name, "regex") for name in pattern.regex.groupindex]


def _walk(patterns, prefix: str = "", namespace: str = "", params=()) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        text = prefix + str(entry.pattern)
        if text.lstrip("^").startswith(SKIPPED_PREFIXES):
            continue
        found = (*params, *_params(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            routes += _walk(entry.url_patterns, text, inner, found)
        elif isinstance(entry, URLPattern):
            if any(name == "format" for name, _ in found):
                continue  # DRF's ".json" suffix twins of a URL already listed
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            routes.append(Route(name or text, text, tuple(found), reversible=bool(entry.name)))
    return routes


ROUTES = _walk(get_resolver().url_patterns)


def _segment_before(route: str, param: str) -> str:
    """The literal path segment in front of a parameter: "proposals" in "proposals/<int:pk>/"."""
    head = re.split(rf"<(?:\w+:)?{param}>|\(\?P<{param}>", route, maxsplit=1)[0]
    words = [w for w in re.split(r"[/^$\\.?]+", head) if w and not w.startswith(("<", "("))]
    return words[-1] if words else ""


def _singular(word: str) -> str:
    word = word.lower().replace("-", "_")
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _entity(route: Route, param: str, world: dict, previous: str | None) -> tuple[str, int]:
    """Which kind of object a parameter names, and which one of the world's list to use."""
    stem, index = param.lower(), 0
    if stem.startswith("other_"):
        stem, index = stem[len("other_") :], 1
    stem = re.sub(r"_(id|pk|slug)$", "", stem)
    if stem in ("pk", "id", "slug"):
        stem = _singular(_segment_before(route.route, param))
    stem = _ALIASES.get(stem, stem)
    if stem not in world:
        stem = previous or "finding"
    return stem, index


def _fill(route: Route, world: dict) -> dict[str, str | int]:
    values: dict[str, str | int] = {}
    previous = None
    for param, kind in route.params:
        if param in ("revision", "number"):
            values[param] = 1
            continue
        if param in ("sha", "commit"):
            values[param] = world["finding"][0].root_cause_commit
            continue
        entity, index = _entity(route, param, world, previous)
        previous = entity
        objects = world[entity]
        obj = objects[min(index, len(objects) - 1)]
        if kind in ("slug", "str", "regex") and hasattr(obj, "slug") and "slug" in param:
            values[param] = obj.slug
        else:
            values[param] = obj.pk
    return values


def _substitute(route: Route, values: dict) -> str:
    """Fill an unnamed pattern's text: <conv:name> or (?P<name>...); drop regex marks."""
    text = route.route
    for name, value in values.items():
        text = re.sub(rf"\(\?P<{name}>[^)]*\)", str(value), text)
        text = re.sub(rf"<(?:\w+:)?{name}>", str(value), text)
    text = text.replace("^", "").replace("$", "").replace("\\", "").replace("/?", "/")
    return "/" + text


def url_for(route: Route, world: dict) -> str:
    values = _fill(route, world)
    url = None
    if route.reversible:
        with contextlib.suppress(NoReverseMatch):
            url = reverse(route.name, kwargs=values)
    url = url or _substitute(route, values)
    query = QUERIES.get(route.short_name)
    return f"{url}?{urlencode(query(world))}" if query else url


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are made per test; the default hasher would spend most of the run hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def scenario_repo(tmp_path_factory):
    """A real scenario repository plus a diff that applies to its HEAD."""
    built = build_scenario("label_regex", tmp_path_factory.mktemp("matrix") / "labels")
    path = built["path"]
    target = path / built["finding"]["functions"][0]["file"]
    original = target.read_text()
    diffs = []
    for addition in ("\n# faster\n", "\n# faster\n# and smaller\n"):
        target.write_text(original + addition)
        diffs.append(
            subprocess.run(
                ["git", "-C", str(path), "diff"], capture_output=True, text=True, check=True
            ).stdout
        )
    target.write_text(original)
    return built, diffs


@pytest.fixture
def world(db, scenario_repo, reviewer, manager) -> dict[str, list]:
    built, diffs = scenario_repo
    sent = built["finding"]
    repository = Repository.objects.create(name="labels", path=str(built["path"]))
    service = Service.objects.create(name=sent["service"], repository=repository)
    skill, _ = Skill.objects.get_or_create(
        slug="precompile-regex", defaults={"name": "Precompile regex", "codemod": "x"}
    )
    findings = [
        Finding.objects.create(
            kind=Finding.Kind.REGRESSION,
            source="scenario",
            external_id=f"matrix-{n}",
            payload_sha256="0" * 64,
            service=service,
            repository=repository,
            title=f"Matrix finding {n}",
            metric="cpu",
            magnitude_pct=2.0,
            functions=sent["functions"],
            root_cause_commit=sent["root_cause"]["commit"],
            status=Finding.Status.IN_REVIEW,
            assignee=reviewer,
            estimated_watts=1500.0,
        )
        for n in (1, 2)
    ]
    run = SolveRun.objects.create(finding=findings[0], status=SolveRun.Status.SUCCEEDED)
    base = subprocess.run(
        ["git", "-C", str(built["path"]), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    common = {
        "finding": findings[0],
        "skill_version": skill.current_version,
        "skill_slug": skill.slug,
        "diff_sha256": "1" * 64,
        "base_commit": base,
        "rationale": "Compile the pattern once.",
        "applies": True,
        "tests_passed": True,
        "estimated_watts": 700.0,
    }
    current = Proposal.objects.create(revision=2, solve_run=run, diff=diffs[1], **common)
    older = Proposal.objects.create(
        revision=1,
        is_current=False,
        status=Proposal.Status.CHANGES_REQUESTED,
        diff=diffs[0],
        **common,
    )
    decision = Decision.objects.create(
        proposal=older,
        revision=1,
        diff_sha256=older.diff_sha256,
        reviewer=reviewer,
        verdict=Decision.Verdict.REQUEST_CHANGES,
        comment="Keep the flag.",
    )
    event = AuditEvent.objects.create(
        actor_label="system", verb="finding.status", target_type="finding", target_id="1"
    )
    return {
        "finding": findings,
        "proposal": [current, older],
        "solverun": [run],
        "repository": [repository],
        "service": [service],
        "skill": [skill],
        "skillversion": [skill.current_version],
        "decision": [decision],
        "auditevent": [event],
        "user": [reviewer, manager],
    }


# --- the matrix --------------------------------------------------------------------------------

CHECKED = [route for route in ROUTES if route.short_name not in PUBLIC]


def _ids(route: Route) -> str:
    return route.name


def _allowed(route: Route, persona: str, default: set[int]) -> set[int]:
    return OVERRIDES.get(route.short_name, {}).get(persona, default)


def _explain(route: Route, url: str, persona: str, method: str, response) -> str:
    where = response.get("Location", "")
    return (
        f"{persona} {method} {url} ({route.name}) answered {response.status_code}"
        f"{' → ' + where if where else ''}. If this is intended, add it to OVERRIDES with a reason."
    )


def _post_only(client_for, reviewer, url: str) -> bool:
    """An endpoint that answers a reader's GET with 405 takes POSTs only: it acts."""
    return client_for(reviewer).get(url).status_code == 405


def test_every_project_url_is_in_the_matrix():
    names = {route.short_name for route in ROUTES}
    assert {"queue", "finding", "login"} <= names
    assert len(CHECKED) >= 2


@pytest.mark.parametrize("route", CHECKED, ids=_ids)
def test_anonymous_sees_nothing(client, client_for, reviewer, world, route):
    url = url_for(route, world)
    post_only = _post_only(client_for, reviewer, url)
    client.logout()
    # A POST-only endpoint may refuse a GET's method before asking who you are; the POST is
    # what must be refused.
    method = "post" if post_only else "get"
    response = getattr(client, method)(url)
    if route.is_api:
        allowed = _allowed(route, "anonymous", {401, 403})
    else:
        allowed = _allowed(route, "anonymous", {302})
    assert response.status_code in allowed, _explain(route, url, "anonymous", method, response)
    if response.status_code == 302:
        assert response["Location"].startswith("/login/"), _explain(
            route, url, "anonymous", method, response
        )


@pytest.mark.parametrize("route", CHECKED, ids=_ids)
def test_outsider_without_a_role_is_refused(client_for, reviewer, outsider, world, route):
    url = url_for(route, world)
    post_only = _post_only(client_for, reviewer, url)
    client = client_for(outsider)
    refused = {401, 403, 404} if route.is_api else {403, 404}
    response = client.get(url)
    allowed = _allowed(route, "outsider", refused | ({405} if post_only else set()))
    assert response.status_code in allowed, _explain(route, url, "outsider", "GET", response)
    response = client.post(url, {})
    allowed = _allowed(route, "outsider_post", refused if post_only else refused | {405})
    assert response.status_code in allowed, _explain(route, url, "outsider", "POST", response)


@pytest.mark.parametrize("route", CHECKED, ids=_ids)
def test_manager_reads_but_cannot_act(client_for, manager, world, route):
    url = url_for(route, world)
    client = client_for(manager)
    response = client.get(url)
    assert response.status_code in _allowed(route, "manager", {200, 405}), _explain(
        route, url, "manager", "GET", response
    )
    post_only = response.status_code == 405
    response = client.post(url, {})
    # A POST-only endpoint is an action: a manager must be told no, not "wrong method".
    allowed = _allowed(route, "manager_post", {403} if post_only else {403, 405})
    assert response.status_code in allowed, _explain(route, url, "manager", "POST", response)


@pytest.mark.parametrize("route", CHECKED, ids=_ids)
def test_reviewer_reads_everything(client_for, reviewer, world, route):
    url = url_for(route, world)
    response = client_for(reviewer).get(url)
    assert response.status_code in _allowed(route, "reviewer", {200, 405}), _explain(
        route, url, "reviewer", "GET", response
    )


@pytest.mark.parametrize("route", [r for r in ROUTES if r.short_name == "login"], ids=_ids)
def test_public_login_page_is_reachable(client, db, route):
    assert client.get(reverse(route.name)).status_code == 200


def test_url_filling_understands_common_parameter_names(world):
    by_name = {route.name: route for route in ROUTES}
    finding = world["finding"][0]
    assert url_for(by_name["reviews:finding"], world) == f"/findings/{finding.pk}/"
    params = (("pk", "int"), ("other_pk", "int"))
    fake = Route("x", "proposals/<int:pk>/interdiff/<int:other_pk>/", params, False)
    current, older = world["proposal"]
    assert url_for(fake, world) == f"/proposals/{current.pk}/interdiff/{older.pk}/"
    fake = Route("y", r"^api/v1/runs/(?P<run_id>[0-9]+)/$", (("run_id", "regex"),), False)
    assert url_for(fake, world) == f"/api/v1/runs/{world['solverun'][0].pk}/"
