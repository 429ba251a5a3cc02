"""Real-world corpus bench: how many upstream performance commits Wattson's solver fixes itself.

    .venv/bin/python bench/realworld/run.py                    # every case, offline backend
    .venv/bin/python bench/realworld/run.py --case toolz-join --json
    .venv/bin/python bench/realworld/run.py --backend anthropic   # needs ANTHROPIC_API_KEY
    # (ANTHROPIC_BASE_URL points it elsewhere, e.g. at tests/fakes/anthropic_api.py)

The corpus (bench/realworld/cases, chosen by the rule in README.md, not by what the skills fit):
each case is the parent of a real upstream performance commit, with the module, its upstream
tests, the upstream diff and a benchmark of the function the commit sped up.

For each case: build its repository, register it in a temporary SQLite database and var dir,
ingest an opportunity finding naming the function (metric cpu), solve it in this process
(`manage.py solve --wait`), then classify what a reviewer would be shown:
- valid fix: a proposal whose diff applies to a fresh build, adds no test failure to the
  parent's own baseline, and is shown at least WATTSON_MIN_SPEEDUP faster — all re-checked here,
  independently of the solver's validation ("faster" is the same one-sided Mann–Whitney verdict
  the solver uses, on interleaved rounds; verify.py);
- wrong fix presented: a proposal whose diff does not apply, adds a test failure, breaks the
  benchmark, or is shown not WATTSON_MIN_SPEEDUP faster (target 0);
- unconfirmed: a proposal that passes the tests but whose gain is still undecided after
  verify.MAX_ROUNDS rounds (a gain within the machine's noise of the floor; not counted valid);
- irrelevant analysis presented: a diagnosis-only proposal (target 0);
- honest no_fix (the solver's reason is printed), or failed (the run broke).
The upstream fix is tested and timed in the same rounds as Wattson's diff. With the anthropic
backend each case also reports the model's tokens and dollars, and the total the tokens and
dollars per valid fix (everything spent, failures included, over the valid fixes).
Target: at least 60% valid fixes, 0 wrong, 0 irrelevant.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (HERE, PROJECT / "bench")]
sys.path[:0] = [str(PROJECT), str(HERE)]

from build import build, case_names, load_case  # noqa: E402

from skills.solver import speedup as stats  # noqa: E402

TARGET_VALID_SHARE = 0.60
MAGNITUDE_PCT = 5.0
OUTCOMES = ("valid", "wrong", "unconfirmed", "irrelevant", "no_fix", "failed")
# The usage counters the anthropic backend records (skills.solver.llm_config.Usage).
TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=case_names(), help="default: all")
    parser.add_argument("--backend", choices=("offline", "anthropic"), default="offline")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args()


def set_up(tmp: Path) -> None:
    """A throwaway database and var dir, as bench/solve.py uses; solves run in this process."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "console.settings",
            "WATTSON_VAR_DIR": str(tmp / "var"),
            "WATTSON_WORK_DIR": str(tmp / "work"),
            "WATTSON_BROKER": "orm",
            "WATTSON_AUTO_SOLVE": "0",
            "WATTSON_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def finding_for(case: dict, repo_name: str) -> dict:
    function = case["functions"][0]
    return {
        "kind": "opportunity",
        "external_id": f"realworld-{case['name']}",
        "source": "realworld-corpus",
        "service": repo_name,
        "repository": repo_name,
        "title": f"CPU hot spot in {function['symbol']}",
        "metric": "cpu",
        "magnitude_pct": MAGNITUDE_PCT,
        "functions": case["functions"],
    }


def solve_case(name: str, tmp: Path, backend: str) -> dict:
    """Build, register, ingest and solve one case; what the solver ended with."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from reviews.models import Proposal, SolveRun
    from reviews.services.ingest import finding_ingest
    from reviews.services.repositories import repository_register

    case = load_case(name)
    repo = tmp / "repos" / name
    build(name, repo)
    repository_register(
        name=name,
        path=str(repo),
        service_name=name,
        test_cmd=case["test_cmd"],
        bench_cmd=case["bench_cmd"],
        branch="main",
        actor=None,
    )
    ingested = finding_ingest(payload=finding_for(case, name), actor=None)
    if ingested.errors:
        raise SystemExit(f"{name}: ingest failed: {ingested.errors}")
    finding_id = ingested.created[0]
    out = io.StringIO()
    # A failed run raises CommandError; its status and error are read below either way.
    with contextlib.suppress(CommandError):
        call_command("solve", str(finding_id), "--wait", "--json", "--backend", backend, stdout=out)
    run = SolveRun.objects.filter(finding_id=finding_id).order_by("-id").first()
    proposal = Proposal.objects.filter(finding_id=finding_id, solve_run=run).first()
    return {
        "status": run.status if run else "none",
        "backend": run.backend if run else backend,
        "error": (run.error if run else "no solve run") or "",
        "refusals": [
            {"skill": r.get("skill"), "reason": (r.get("reason") or "").splitlines()[:1]}
            for r in (run.refusals if run and isinstance(run.refusals, list) else [])
        ],
        "usage": (run.usage if run else {}) or {},
        "proposal": None
        if proposal is None
        else {
            "id": proposal.pk,
            "skill": proposal.skill_slug,
            "is_analysis": proposal.is_analysis,
            "diff": proposal.diff,
            "claimed_speedup": _ratio(proposal.bench_before_s, proposal.bench_after_s),
            "cost_usd": proposal.cost_usd,
        },
    }


def _ratio(before: float | None, after: float | None) -> float | None:
    return round(before / after, 3) if before and after else None


def classify(name: str, solved: dict, workdir: Path) -> dict:
    """The outcome a reviewer meets, re-checked on fresh builds; the upstream fix timed alike."""
    import verify
    from django.conf import settings

    proposal = solved["proposal"]
    diff = (
        proposal["diff"] if proposal and not proposal["is_analysis"] and proposal["diff"] else None
    )
    trees = verify.prepare(name, workdir, diff)
    bar = {"min_speedup": settings.WATTSON_MIN_SPEEDUP, "alpha": settings.WATTSON_BENCH_ALPHA}
    rounds = verify.measure(name, trees, **bar)
    baseline = trees["parent"].tests
    upstream_ok = trees["upstream"].tests.adds_no_failure_to(baseline)
    upstream = verify.judgement(trees, "upstream", **bar)
    result = {
        "case": name,
        "skill": proposal["skill"] if proposal else None,
        "upstream_speedup": _round(upstream.speedup if upstream else None),
        "upstream_tests_ok": upstream_ok,
        "parent_failing_tests": sorted(baseline.failing),
        "wattson_speedup": None,
        "wattson_verdict": None,
        "bench_rounds": rounds,
    }
    if proposal is None:
        outcome = "no_fix" if solved["status"] == "no_fix" else "failed"
        reason = solved["error"]
    elif diff is None:
        outcome, reason = "irrelevant", "a diagnosis-only proposal was presented"
    else:
        verdict = verify.judgement(trees, "wattson", **bar)
        result["wattson_speedup"] = _round(verdict.speedup if verdict else None)
        result["wattson_verdict"] = verdict.as_dict() if verdict else None
        outcome, reason = _judge(trees["wattson"], baseline, verdict)
    return {**result, "outcome": outcome, "reason": reason}


def _judge(tree, baseline, verdict: stats.Judgement | None) -> tuple[str, str]:
    if not tree.applies:
        return "wrong", f"the diff does not apply to a fresh build: {tree.apply_log[:300]}"
    if not tree.tests.adds_no_failure_to(baseline):
        new = sorted(tree.tests.failing - baseline.failing)
        return "wrong", f"the upstream tests fail with the diff: {new or tree.tests.output[-300:]}"
    if verdict is None:
        return "wrong", "the benchmark does not run with the diff"
    measured = stats.describe(verdict.as_dict())
    if verdict.verdict == stats.NOT_FASTER:
        return "wrong", measured
    if verdict.verdict == stats.UNDECIDED:
        return "unconfirmed", f"applies, adds no test failure; {measured}"
    return "valid", f"applies, adds no test failure; {measured}"


def _round(value: float | None) -> float | None:
    return round(value, 3) if value else None


def run_case(name: str, tmp: Path, backend: str) -> dict:
    """One case end to end: solve it, classify what a reviewer is shown, and what it cost."""
    solved = solve_case(name, tmp, backend)
    result = classify(name, solved, tmp / "verify" / name)
    usage = solved["usage"] or {}
    result.update(
        project=load_case(name)["project"],
        solver_status=solved["status"],
        backend=solved["backend"],
        refusals=solved["refusals"],
        claimed_speedup=(solved["proposal"] or {}).get("claimed_speedup"),
        usage=usage,
        tokens=sum(int(usage.get(key) or 0) for key in TOKEN_KEYS),
        # The run's whole conversation, whether or not it ended in a proposal.
        cost_usd=float(usage.get("cost_usd") or 0.0),
    )
    return result


def summarise(results: list[dict]) -> dict:
    counts = {outcome: sum(r["outcome"] == outcome for r in results) for outcome in OUTCOMES}
    share = counts["valid"] / len(results) if results else 0.0
    met = share >= TARGET_VALID_SHARE and counts["wrong"] == 0 and counts["irrelevant"] == 0
    tokens = sum(r.get("tokens") or 0 for r in results)
    dollars = sum(r.get("cost_usd") or 0.0 for r in results)
    valid = counts["valid"]
    return {
        "cases": len(results),
        "projects": len({r["project"] for r in results}),
        **counts,
        "valid_share": round(share, 3),
        "target": f">= {TARGET_VALID_SHARE:.0%} valid, 0 wrong, 0 irrelevant",
        "target_met": met,
        "tokens": tokens,
        "cost_usd": round(dollars, 6),
        # Everything spent, over what it bought; None without a valid fix.
        "tokens_per_valid_fix": round(tokens / valid) if valid else None,
        "dollars_per_valid_fix": round(dollars / valid, 6) if valid else None,
    }


def print_text(results: list[dict], summary: dict) -> None:
    for r in results:
        theirs = f"{r['upstream_speedup']:.2f}x" if r["upstream_speedup"] else "-"
        ours = f"{r['wattson_speedup']:.2f}x" if r["wattson_speedup"] else "-"
        spent = f"  {r['tokens']:,} tokens ${r['cost_usd']:.4f}" if r.get("tokens") else ""
        print(
            f"{r['case']:24s} {r['outcome']:10s} wattson {ours:>7s}  upstream {theirs:>7s}"
            f"  {r['skill'] or ''}{spent}"
        )
        print(f"{'':24s} {r['reason'].splitlines()[0] if r['reason'] else ''}"[:200])
        for refusal in r["refusals"]:
            print(f"{'':26s}- {refusal['skill']}: {' '.join(refusal['reason'])}"[:200])
    print(
        f"\n{summary['cases']} cases from {summary['projects']} projects: "
        f"{summary['valid']} valid ({summary['valid_share']:.0%}), {summary['wrong']} wrong, "
        f"{summary['unconfirmed']} unconfirmed, {summary['irrelevant']} irrelevant, "
        f"{summary['no_fix']} no_fix, "
        f"{summary['failed']} failed"
    )
    if summary["tokens"]:
        per_fix = (
            f"{summary['tokens_per_valid_fix']:,} tokens and "
            f"${summary['dollars_per_valid_fix']:.4f} per valid fix"
            if summary["valid"]
            else "no valid fix to divide by"
        )
        print(f"model: {summary['tokens']:,} tokens, ${summary['cost_usd']:.4f} in all; {per_fix}")
    verdict = "met" if summary["target_met"] else "NOT met"
    print(f"target {summary['target']}: {verdict}")


def main() -> None:
    args = parse_args()
    if args.backend == "anthropic" and not os.environ.get("ANTHROPIC_API_KEY"):
        raise SystemExit("--backend anthropic needs ANTHROPIC_API_KEY in the environment")
    tmp = Path(tempfile.mkdtemp(prefix="wattson-bench-realworld-"))
    set_up(tmp)
    results = []
    for name in args.case or case_names():
        result = run_case(name, tmp, args.backend)
        results.append(result)
        print(f"{name}: {result['outcome']}", file=sys.stderr, flush=True)
    summary = summarise(results)
    if args.json:
        print(json.dumps({"results": results, "summary": summary}, indent=2))
    else:
        print_text(results, summary)


if __name__ == "__main__":
    main()
