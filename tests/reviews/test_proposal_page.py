"""The proposal page: who may see it, what it shows, context expansion and interdiffs."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from reviews.models import Finding, Proposal, Repository, Service, SolveRun

CART_BEFORE = '''"""Shopping cart totals."""

import re

SKU = """
A multi-line string that the diff does not touch,
so only whole-file highlighting colours it right.
"""


class Cart:
    def __init__(self, items):
        self.items = items

    def total(self):
        result = 0
        for item in self.items:
            if re.match(r"[A-Z]{3}-\\d+", item.sku):
                result = result + item.price
        return result

    def count(self):
        return len(self.items)
'''
CART_PADDING = "".join(f"\n\ndef helper_{i}():\n    return {i}\n" for i in range(12))
CART_BEFORE += CART_PADDING
CART_AFTER = CART_BEFORE.replace(
    "import re\n", 'import re\n\n_SKU_RE = re.compile(r"[A-Z]{3}-\\d+")\n'
).replace('if re.match(r"[A-Z]{3}-\\d+", item.sku):', "if _SKU_RE.match(item.sku):")
CART_AFTER = CART_AFTER.replace("    return 11\n", "    return 11  # last\n")
UTIL_BEFORE = "def money(value):\n    return f'{value:.2f}'\n"
UTIL_AFTER = "def money(value: float) -> str:\n    return f'{value:.2f}'\n"


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Base Author",
        "GIT_AUTHOR_EMAIL": "base@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
    }
    out = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=30
    )
    return out.stdout.decode("utf-8")


def make_change(root: Path, before: dict[str, str], after: dict[str, str]) -> tuple[Path, str, str]:
    """A git repo with `before` committed; returns (path, base sha, the diff to `after`)."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for name, text in before.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD").strip()
    for name, text in after.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    git(root, "add", "-A")
    diff = git(root, "diff", "--cached", "--no-color", "-M")
    git(root, "reset", "-q", "--hard", base)
    return root, base, diff


def two_file_change(root: Path) -> tuple[Path, str, str]:
    return make_change(
        root,
        {"shop/cart.py": CART_BEFORE, "shop/util.py": UTIL_BEFORE},
        {"shop/cart.py": CART_AFTER, "shop/util.py": UTIL_AFTER},
    )


def make_proposal(
    *,
    repo_path: Path | None,
    base: str,
    diff: str,
    finding: Finding | None = None,
    revision: int = 1,
    trace: list | None = None,
    **fields,
) -> Proposal:
    if finding is None:
        repository = None
        if repo_path is not None:
            repository = Repository.objects.create(name=f"repo-{repo_path.name}", path=repo_path)
        service, _ = Service.objects.get_or_create(
            name="checkout", defaults={"price_per_kwh": 0.10, "repository": repository}
        )
        finding = Finding.objects.create(
            kind=Finding.Kind.REGRESSION,
            source="test",
            external_id=f"ext-{Finding.objects.count()}",
            payload_sha256="0" * 64,
            service=service,
            repository=repository,
            title="Cart.total got slower",
            metric="cpu",
            magnitude_pct=4.0,
            root_cause_commit="a" * 40,
            root_cause_author="priya@example.com",
            status=Finding.Status.IN_REVIEW,
        )
    run = SolveRun.objects.create(
        finding=finding, revision=revision, status=SolveRun.Status.SUCCEEDED, trace=trace or []
    )
    Proposal.objects.filter(finding=finding).update(is_current=False)
    defaults = {
        "skill_slug": "precompile-regex",
        "rationale": "Compile the **pattern** once.",
        "estimated_watts": 1000.0,
        "applies": True,
        "tests_passed": True,
        "bench_before_s": 0.2,
        "bench_after_s": 0.05,
    }
    defaults.update(fields)
    return Proposal.objects.create(
        finding=finding,
        revision=revision,
        solve_run=run,
        diff=diff,
        diff_sha256=hashlib.sha256(diff.encode()).hexdigest(),
        base_commit=base,
        **defaults,
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def proposal(db, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    return make_proposal(repo_path=repo, base=base, diff=diff)


def page(client, proposal: Proposal, query: str = "") -> str:
    response = client.get(reverse("reviews:proposal", args=[proposal.pk]) + query)
    assert response.status_code == 200
    return response.content.decode()


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["reviewer", "manager", "skill_admin"])
def test_every_role_can_read_the_proposal(request, client_for, proposal, persona):
    client = client_for(request.getfixturevalue(persona))
    html = page(client, proposal)
    assert "Cart.total got slower" in html
    assert "shop/cart.py" in html and "shop/util.py" in html


def test_outsider_gets_403(client_for, outsider, proposal):
    client = client_for(outsider)
    assert client.get(reverse("reviews:proposal", args=[proposal.pk])).status_code == 403
    context = reverse("reviews:proposal_context", args=[proposal.pk]) + "?file=0&from=1&to=2"
    assert client.get(context).status_code == 403


def test_anonymous_is_sent_to_login(client, proposal):
    response = client.get(reverse("reviews:proposal", args=[proposal.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    context = reverse("reviews:proposal_context", args=[proposal.pk]) + "?file=0&from=1&to=2"
    assert client.get(context).status_code == 302


def test_unknown_proposal_is_404(client_for, reviewer):
    assert client_for(reviewer).get(reverse("reviews:proposal", args=[999999])).status_code == 404


def test_posting_to_the_page_is_refused(client_for, reviewer, proposal):
    response = client_for(reviewer).post(reverse("reviews:proposal", args=[proposal.pk]))
    assert response.status_code == 405


# --- what it shows ----------------------------------------------------------------------------


def test_page_shows_finding_skill_savings_and_validation(client_for, reviewer, proposal):
    html = page(client_for(reviewer), proposal)
    assert "precompile-regex" in html
    assert "priya@example.com" in html and "a" * 12 in html
    assert "4.00% of cpu" in html
    # 1000 W × 8.76 × $0.10 = $876 a year.
    assert "$876/yr" in html and "× $0.10 per kWh" in html
    assert "4.00×" in html  # 0.2 s → 0.05 s
    assert "applies cleanly" in html and "tests pass" in html and "4.00× faster" in html
    # Markdown rendered, not shown raw.
    assert "<strong>pattern</strong>" in html and "**pattern**" not in html


def test_diff_is_highlighted_from_the_whole_file_with_counts_and_functions(
    client_for, reviewer, proposal
):
    html = page(client_for(reviewer), proposal)
    assert "<strong>2</strong> files changed" in html
    assert '<span class="plus">+5</span> <span class="minus">−3</span>' in html
    assert '<span class="plus">+4</span> <span class="minus">−2</span>' in html  # cart.py
    # Hunk headers name the enclosing function, from the old file's syntax tree.
    assert '<span class="fn">def Cart.total</span>' in html
    assert '<span class="fn">def helper_11</span>' in html
    assert '<span class="fn">def money</span>' in html
    # Pygments classes, never inline styles (the CSP forbids them).
    assert '<span class="n">_SKU_RE</span>' in html
    assert 'style="' not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    # Unchanged lines between and around hunks can be expanded.
    assert 'class="gap" data-file="0"' in html
    assert re.search(r"Show \d+ unchanged lines", html)


def test_context_endpoint_returns_highlighted_unchanged_lines(client_for, reviewer, proposal):
    client = client_for(reviewer)
    html = page(client, proposal)
    match = re.search(r'class="gap" data-file="0" data-from="(\d+)" data-to="(\d+)"', html)
    start, end = match.groups()
    url = reverse("reviews:proposal_context", args=[proposal.pk])
    response = client.get(url, {"file": 0, "from": start, "to": end})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('<tr class="r ctx"') == int(end) - int(start) + 1
    # The module docstring's lines carry string classes: lexed with the whole file.
    assert "Shopping cart totals." in body and 'class="sd"' in body


def test_context_endpoint_rejects_bad_ranges(client_for, reviewer, proposal):
    client = client_for(reviewer)
    url = reverse("reviews:proposal_context", args=[proposal.pk])
    assert client.get(url, {"file": "x", "from": 1, "to": 2}).status_code == 400
    assert client.get(url, {"file": 0, "from": 5, "to": 2}).status_code == 400
    assert client.get(url, {"file": 7, "from": 1, "to": 2}).status_code == 404
    # Lines inside a hunk are not "unchanged context".
    assert client.get(url, {"file": 0, "from": 1, "to": 200}).status_code == 404


def test_second_render_comes_from_the_cache(client_for, reviewer, proposal, monkeypatch):
    client = client_for(reviewer)
    first = page(client, proposal)
    from skills import gitio

    def no_git(*args, **kwargs):
        raise AssertionError("a cached render must not run git")

    monkeypatch.setattr(gitio, "run_git", no_git)
    second = page(client, proposal)
    assert '<span class="n">_SKU_RE</span>' in second
    assert second.count('class="r add') == first.count('class="r add')


def test_missing_repository_falls_back_to_hunk_highlighting(client_for, reviewer, db, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "gone")
    proposal = make_proposal(repo_path=None, base=base, diff=diff)
    html = page(client_for(reviewer), proposal)
    assert "No repository is registered" in html
    assert '<span class="n">_SKU_RE</span>' in html
    assert 'class="gap"' not in html


def test_repository_that_is_not_a_git_work_tree_is_reported(client_for, reviewer, db, tmp_path):
    _repo, base, diff = two_file_change(tmp_path / "real")
    empty = tmp_path / "empty"
    empty.mkdir()
    proposal = make_proposal(repo_path=empty, base=base, diff=diff)
    html = page(client_for(reviewer), proposal)
    assert "is not available on this server" in html
    assert '<span class="n">_SKU_RE</span>' in html


def test_analysis_only_proposal_is_labelled(client_for, reviewer, db, tmp_path):
    proposal = make_proposal(
        repo_path=None,
        base="",
        diff="",
        is_analysis=True,
        applies=False,
        tests_passed=None,
        rationale="The hot path is `parse_sku`; no safe mechanical fix.",
    )
    html = page(client_for(reviewer), proposal)
    assert "Analysis — no code change" in html
    assert "<code>parse_sku</code>" in html
    assert "files changed" not in html


def test_trace_and_transcript_are_shown(client_for, reviewer, proposal):
    run = proposal.solve_run
    run.trace = [
        {"tool": "read_code", "arguments": {"path": "shop/cart.py"}, "summary": "42 lines",
         "duration_ms": 12.5, "error": ""},
        {"tool": "run_tests", "arguments": {}, "summary": "", "duration_ms": 900,
         "error": "timeout after 30 s"},
    ]  # fmt: skip
    run.transcript = [
        {"role": "user", "content": "Fix the regression."},
        {"role": "assistant", "content": [{"type": "tool_use", "name": "read_code",
                                            "input": {"path": "shop/cart.py"}}]},
    ]  # fmt: skip
    run.usage = {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0123}
    run.save()
    html = page(client_for(reviewer), proposal)
    assert "read_code" in html and "42 lines" in html and "13 ms" in html
    assert "timeout after 30 s" in html and "has-error" in html
    assert "&quot;path&quot;: &quot;shop/cart.py&quot;" in html
    assert "Model transcript (2 messages)" in html and "tool call: read_code" in html
    assert "input tokens" in html and "1,200" in html and "$0.0123" in html


def test_revisions_are_listed_with_an_interdiff(client_for, reviewer, proposal):
    repo = Path(proposal.finding.repository.path)
    after2 = {"shop/cart.py": CART_AFTER.replace("return len(self.items)", "return 0"),
              "shop/util.py": UTIL_AFTER}  # fmt: skip
    for name, text in after2.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    diff2 = git(repo, "diff", "--cached", "--no-color")
    git(repo, "reset", "-q", "--hard", proposal.base_commit)
    second = make_proposal(
        repo_path=None,
        base=proposal.base_commit,
        diff=diff2,
        finding=proposal.finding,
        revision=2,
    )
    second.solve_run.reviewer_comment = "Keep <len()> please"
    second.solve_run.save()
    client = client_for(reviewer)
    html = page(client, second)
    assert "This revision answers a change request" in html and "Keep &lt;len()&gt; please" in html
    old_page = page(client, proposal)
    assert "the current one is" in old_page
    assert reverse("reviews:proposal", args=[second.pk]) in old_page
    interdiff_url = reverse("reviews:proposal_interdiff", args=[second.pk, proposal.pk])
    assert interdiff_url in html
    assert reverse("reviews:proposal", args=[proposal.pk]) in html

    response = client.get(interdiff_url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Interdiff: r1 → r2" in body
    # Only what changed between the revisions; the regex change both share is not in it.
    assert "<strong>1</strong> file changed" in body and "shop/util.py" not in body
    assert body.count('class="r add') == 1 and body.count('class="r del') == 1
    assert '<span class="fn">def Cart.count</span>' in body

    pick = reverse("reviews:proposal_interdiff_pick", args=[second.pk])
    assert client.get(pick, {"against": proposal.pk})["Location"] == interdiff_url
    assert client.get(pick, {"against": "nope"}).status_code == 400

    # Expanding context inside the interdiff works on the older revision's resulting file.
    match = re.search(r'class="gap" data-file="0" data-from="(\d+)" data-to="(\d+)"', body)
    url = reverse("reviews:proposal_interdiff_context", args=[second.pk, proposal.pk])
    rows = client.get(url, {"file": 0, "from": match.group(1), "to": match.group(2)})
    assert rows.status_code == 200 and "_SKU_RE" in rows.content.decode()


def test_interdiff_with_another_findings_proposal_is_404(client_for, reviewer, proposal, tmp_path):
    repo, base, diff = two_file_change(tmp_path / "other")
    stranger = make_proposal(repo_path=repo, base=base, diff=diff, finding=None)
    assert stranger.finding_id != proposal.finding_id
    url = reverse("reviews:proposal_interdiff", args=[proposal.pk, stranger.pk])
    assert client_for(reviewer).get(url).status_code == 404
    self_url = reverse("reviews:proposal_interdiff", args=[proposal.pk, proposal.pk])
    assert client_for(reviewer).get(self_url).status_code == 404


def test_outsider_cannot_read_an_interdiff(client_for, outsider, proposal):
    url = reverse("reviews:proposal_interdiff", args=[proposal.pk, proposal.pk])
    assert client_for(outsider).get(url).status_code == 403


def test_hidden_characters_are_flagged_on_the_page(client_for, reviewer, db, tmp_path):
    repo, base, diff = make_change(
        tmp_path / "trojan",
        {"auth.py": "def allowed(user):\n    return user.is_admin\n"},
        {"auth.py": "def allowed(user):\n    return user.is_admin  # \u202e} \u2066if True:\n"},
    )
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    html = page(client_for(reviewer), proposal)
    assert "Hidden or look-alike characters in added lines" in html
    assert "auth.py:2" in html and "U+202E RIGHT-TO-LEFT OVERRIDE" in html
    assert 'id="f0-n2"' in html and 'class="r add warn"' in html
    assert "\u202e" not in html.split('<h2 id="h-diff"', 1)[1]


def test_base_files_are_read_as_the_bytes_git_holds(db, tmp_path):
    """CRLF, a "\r" inside a line and bytes that are not UTF-8 all come back line for line."""
    from reviews.selectors.proposals import read_file_at, read_files_at

    before = {
        "crlf.py": "a = 1\r\nb = 2\r\n",
        "lone_cr.py": 'a = "x\ry"\nb = 2\n',
        "plain.py": "é = 1\n",
        "with space.py": "s = 1\n",
    }
    repo, base, _diff = make_change(tmp_path / "bytes", before, before)
    (repo / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (repo / "binary.dat").write_bytes(b"\x00\x01\x02")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "latin-1")
    base = git(repo, "rev-parse", "HEAD").strip()
    paths = [*before, "latin1.txt", "binary.dat", "missing.py"]
    batch = read_files_at(str(repo), base, paths)
    assert batch == {
        **before,
        "latin1.txt": "caf\ufffd\n",  # decoded as git's diffs are: one replacement character
        "binary.dat": None,
        "missing.py": None,
    }
    assert {p: read_file_at(str(repo), base, p) for p in paths} == batch
    assert read_file_at(str(repo), "not-a-sha", "plain.py") is None
    assert read_file_at(str(repo), base, "--output=/tmp/x") is None


def test_a_file_with_carriage_returns_in_lines_keeps_whole_file_highlighting(
    client_for, reviewer, db, tmp_path
):
    before = {"lone_cr.py": 'a = "x\ry"\n' + "".join(f"v{i} = {i}\n" for i in range(20))}
    after = {"lone_cr.py": before["lone_cr.py"].replace("v15 = 15", "v15 = 16")}
    repo, base, diff = make_change(tmp_path / "cr", before, after)
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    client = client_for(reviewer)
    html = page(client, proposal)
    assert 'class="gap"' in html  # the base was read: unchanged lines can be expanded
    assert '<span class="mi">16</span>' in html
    url = reverse("reviews:proposal_context", args=[proposal.pk])
    context = client.get(url, {"file": 0, "from": 1, "to": 3})
    assert context.status_code == 200 and "␍" in context.content.decode()


def test_context_for_a_file_without_a_readable_base_is_404(
    client_for, reviewer, db, tmp_path, monkeypatch
):
    from reviews.selectors import proposals as proposal_reads

    monkeypatch.setattr(proposal_reads, "READ_MAX_BYTES", 16)  # every base file is too large
    before = {"big.py": "".join(f"v{i} = {i}\n" for i in range(20))}
    after = {"big.py": before["big.py"].replace("v15 = 15", "v15 = 16")}
    repo, base, diff = make_change(tmp_path / "big", before, after)
    proposal = make_proposal(repo_path=repo, base=base, diff=diff)
    client = client_for(reviewer)
    html = page(client, proposal)
    assert 'class="gap"' not in html  # nothing to expand from
    assert '<span class="mi">16</span>' in html  # still highlighted, hunk by hunk
    url = reverse("reviews:proposal_context", args=[proposal.pk])
    assert client.get(url, {"file": 0, "from": 1, "to": 3}).status_code == 404


def test_skill_version_and_model_are_shown(client_for, manager, proposal):
    from skills.models import Skill

    skill, _ = Skill.objects.get_or_create(slug="precompile-regex", defaults={"name": "x"})
    skill.name = "Precompile a constant regex"
    skill.save()
    version = skill.versions.order_by("-number").first()
    Proposal.objects.filter(pk=proposal.pk).update(
        skill_version=version, backend="anthropic", model_name="claude-test", solve_run=None
    )
    html = page(client_for(manager), proposal)
    assert "Precompile a constant regex" in html and f"v{version.number}" in html
    assert "anthropic" in html and "claude-test" in html
    assert "No solve run is linked to this proposal." in html


def test_skill_refusals_in_the_trace_are_refusals_not_errors(client_for, reviewer, proposal):
    run = proposal.solve_run
    run.trace = [
        {"tool": "codemod", "arguments": {"skill": "memoize"}, "summary": "refused",
         "duration_ms": 3, "error": "memoize: total() reads a mutable global"},
        {"tool": "codemod", "arguments": {"skill": "broken"}, "summary": "crashed",
         "duration_ms": 3, "error": "ValueError('boom')"},
    ]  # fmt: skip
    run.save()
    html = page(client_for(reviewer), proposal)
    refusal, crash = html.split('class="tcall')[1:3]
    assert refusal.startswith(' is-refusal"') and '<span class="trefused">refused</span>' in refusal
    assert "Why it was refused" in refusal and "reads a mutable global" in refusal
    assert "error" not in refusal.replace("error-", "")
    assert crash.startswith(' has-error"') and '<span class="terr">error</span>' in crash


def test_estimated_and_measured_savings_are_shown_apart_with_their_formulas(
    client_for, reviewer, tmp_path, db
):
    repo, base, diff = two_file_change(tmp_path / "shop-repo")
    proposal = make_proposal(
        repo_path=repo,
        base=base,
        diff=diff,
        expected_recovery=0.9,
        measured_recovery=0.5,
        estimated_watts=1512.0,
        measured_watts=840.0,
    )
    Service.objects.filter(pk=proposal.finding.service_id).update(
        fleet_servers=1000, watts_per_server=350, pue=1.2
    )
    html = page(client_for(reviewer), proposal)
    estimated = html.split("Estimated savings", 1)[1].split('<div class="stat">', 1)[0]
    measured = html.split("Measured savings", 1)[1].split('<div class="stat">', 1)[0]
    assert "1.5 kW" in estimated and "840 W" in measured
    assert "fleet 1,000 × 350 W × PUE 1.2 × 4 % × expected recovery 0.9" in estimated
    assert "fleet 1,000 × 350 W × PUE 1.2 × 4 % × measured recovery 0.5" in measured


def test_the_queue_names_its_power_column_for_what_it_shows(client_for, reviewer, proposal):
    html = client_for(reviewer).get("/").content.decode()
    assert "Size (W)" in html and "Est. power" not in html
    assert "Not a saving" in html
    assert 'title="fleet 1,000 × 350 W × PUE 1.2 × 4 %"' in html
