"""The proposal page shows how "faster" was judged: the verdict, its p-value and level (#12)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from reviews.models import Finding, Repository, Service
from skills.solver.speedup import judge
from tests.reviews.gate_helpers import make_repo, make_skill
from tests.reviews.record_helpers import fix, resolve


@pytest.fixture(autouse=True)
def _work_dir(settings, tmp_path):
    settings.WATTSON_WORK_DIR = tmp_path / "work"


def test_the_benchmark_verdict_and_p_value_are_on_the_proposal(db, tmp_path, reviewer, client_for):
    repo = make_repo(tmp_path / "repo")
    row = Repository.objects.create(name="invoice", path=str(repo))
    service = Service.objects.create(name="billing", repository=row)
    make_skill("memoize")
    finding = Finding.objects.create(
        kind=Finding.Kind.OPPORTUNITY,
        source="test",
        external_id=uuid.uuid4().hex,
        payload_sha256="0" * 64,
        service=service,
        repository=row,
        title="total() is hot",
        metric="cpu",
        magnitude_pct=2.5,
    )
    candidate = fix(repo)
    judged = judge([0.3, 0.31, 0.3, 0.32, 0.3], [0.1] * 5, min_speedup=1.05, alpha=0.05)
    candidate.validation.bench_before_s, candidate.validation.bench_after_s = 0.3, 0.1
    candidate.validation.bench_judgement = judged.as_dict()
    resolve(finding, candidate)
    proposal = finding.proposals.get(is_current=True)
    assert proposal.bench_judgement["verdict"] == "faster"

    page = client_for(reviewer).get(reverse("reviews:proposal", args=[proposal.pk]))
    text = page.content.decode()
    assert 'data-bench-verdict="faster"' in text
    assert f"p = {judged.p_value:.4f}" in text and "Mann–Whitney U" in text
    assert "5 interleaved pairs" in text and "α = 0.05" in text
