"""Benchmark: rendering a 5,000-line, 40-file diff in the proposal page's viewer.

    .venv/bin/python bench/diff_render.py [--files 40] [--diff-lines 5000] [--repeats 5]

Builds a synthetic repository of realistic Python modules (classes, docstrings, multi-line
strings, comments) in a temp dir, commits it, rewrites functions across every file and renders
the resulting diff through the same selector the page uses (git cat-file, whole-file Pygments
lexing, templates, cache). Prints:

- first render (cold cache), the median of --repeats runs on a cleared cache; target ≤ 1 s;
  and its CPU time, which does not depend on what else the machine is running;
- cached render, the median of --repeats cache hits; target ≤ 100 ms;
- the baseline we avoid: highlighting each diff line on its own with pygments.highlight, its
  time, and how many lines it colours wrongly (inside multi-line strings and docstrings);
- a sparse change (one line at the end of a ~1,900-line module): statement-bounded lexing
  against lexing both whole files.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# Replace (not prepend to) the script's own folder on sys.path: bench/queue.py would otherwise
# shadow the standard library's queue module.
sys.path[0] = str(PROJECT)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--files", type=int, default=40)
parser.add_argument("--diff-lines", type=int, default=5000)
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()

tmp = Path(tempfile.mkdtemp(prefix="wattson-bench-diff-"))
os.environ["WATTSON_VAR_DIR"] = str(tmp / "var")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

# The render cache is the database cache every web process shares (settings.CACHES): its table.
call_command("createcachetable", verbosity=0)

from django.core.cache import cache  # noqa: E402
from pygments import highlight  # noqa: E402
from pygments.formatters import HtmlFormatter  # noqa: E402

from reviews import diffs  # noqa: E402
from reviews.diffs.highlight import clear_lexer_cache  # noqa: E402
from reviews.models import Finding, Proposal, Repository  # noqa: E402
from reviews.selectors.proposals import proposal_diff  # noqa: E402

WORDS = (  # noqa: SIM905
    "invoice customer order tax rate total item price sku batch record metric sample "
    "window request latency bucket quota tenant region shard cache entry payload header token"
).split()


def name(rng: random.Random, parts: int = 2) -> str:
    return "_".join(rng.choice(WORDS) for _ in range(parts))


def function(rng: random.Random, fname: str, indent: str, variant: int) -> list[str]:
    """A plausible function body; `variant` changes a few of its lines, as a fix would."""
    arg, acc = name(rng, 1), name(rng, 2)
    lines = [
        f"{indent}def {fname}(self, {arg}s, limit=100):\n" if indent else f"def {fname}({arg}s):\n",
        f'{indent}    """Return the {acc} for {arg}s.\n',
        f"{indent}\n",
        f"{indent}    The {arg}s are scanned once; entries past the limit are ignored.\n",
        f'{indent}    """\n',
        f"{indent}    {acc} = {{}}\n" if variant == 0 else f"{indent}    {acc}: dict = {{}}\n",
        f"{indent}    for index, {arg} in enumerate({arg}s):\n",
        f"{indent}        key = ({arg}.{name(rng, 1)}, {arg}.{name(rng, 1)})\n",
        f"{indent}        if key in {acc}:\n",
        f"{indent}            {acc}[key] += {arg}.{name(rng, 1)}  # merge duplicates\n",
        f"{indent}        else:\n",
        f"{indent}            {acc}[key] = {arg}.{name(rng, 1)}\n",
    ]
    if variant == 0:
        lines += [
            f"{indent}        message = 'seen %s' % (key,)\n",
            f"{indent}        log.debug(message)\n",
            f"{indent}        if len({acc}) > 100:\n",
            f"{indent}            break\n",
        ]
    else:
        lines += [
            f"{indent}        if log.isEnabledFor(logging.DEBUG):\n",
            f"{indent}            log.debug('seen %s', key)\n",
            f"{indent}        if len({acc}) > LIMIT:\n",
            f"{indent}            break\n",
        ]
    lines += [f"{indent}    return {acc}\n", "\n"]
    return lines


def module(seed: int, changed: set[int]) -> str:
    """One module; functions whose index is in `changed` get the fixed variant."""
    rng = random.Random(seed)
    out = [
        f'"""{name(rng, 3).replace("_", " ").capitalize()}.\n',
        "\n",
        "This module is synthetic, but shaped like service code: a docstring that spans\n",
        "lines, imports, a long SQL string, a class with methods, module-level helpers.\n",
        '"""\n',
        "\n",
        "import logging\n",
        "import re\n",
        "from dataclasses import dataclass\n",
        "\n",
        "log = logging.getLogger(__name__)\n",
        "LIMIT = 100\n",
        'QUERY = """\n',
        "    SELECT id, total, created_at\n",
        "    FROM invoices\n",
        "    WHERE tenant = %(tenant)s  -- not a Python comment\n",
        '"""\n',
        "\n",
        "\n",
        "@dataclass\n",
        f"class {name(rng, 2).title().replace('_', '')}:\n",
        f"    {name(rng, 1)}: str\n",
        f"    {name(rng, 1)}: float = 0.0\n",
        "\n",
    ]
    index = 0
    for _ in range(4):
        out += function(rng, f"{name(rng, 2)}_{index}", "    ", int(index in changed))
        index += 1
    out.append("\n")
    for _ in range(6):
        out += function(rng, f"{name(rng, 2)}_{index}", "", int(index in changed))
        out.append("\n")
        index += 1
    return "".join(out)


def git(repo: Path, *cmd: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    result = subprocess.run(
        ["git", "-C", str(repo), *ident, *cmd], check=True, capture_output=True, env=env
    )
    return result.stdout.decode()


def build(files: int, target_lines: int) -> tuple[Path, str, str]:
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for i in range(files):
        path = repo / "svc" / f"module_{i:02d}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(module(i, set()))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    base = git(repo, "rev-parse", "HEAD").strip()
    # Change more functions per file until the diff reaches the target size.
    diff = ""
    for per_file in range(1, 11):
        for i in range(files):
            changed = set(range(per_file))
            (repo / "svc" / f"module_{i:02d}.py").write_text(module(i, changed))
        diff = git(repo, "diff", "--no-color")
        if diff.count("\n") >= target_lines:
            break
    return repo, base, diff


def naive_per_line(diff_text: str, lexer) -> tuple[float, list[str]]:
    formatter = HtmlFormatter(nowrap=True)
    started = time.perf_counter()
    out = []
    for pfile in diffs.parse(diff_text):
        for hunk in pfile:
            for line in hunk:
                out.append(highlight(line.value, lexer, formatter))
    return time.perf_counter() - started, out


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (git): what the render costs,
    whatever else the machine is doing."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    repo_path, base, diff_text = build(args.files, args.diff_lines)
    diff_lines = diff_text.count("\n")
    repository = Repository(name="bench", path=str(repo_path))
    finding = Finding(pk=1, repository=repository, title="bench")
    proposal = Proposal(pk=1, finding=finding, diff=diff_text, base_commit=base)
    context_url = "/proposals/1/context/"

    firsts, first_cpu, cached = [], [], []
    rendered = None
    for _ in range(args.repeats):
        cache.clear()
        clear_lexer_cache()
        started, cpu_started = time.perf_counter(), cpu_seconds()
        rendered = proposal_diff(proposal=proposal, context_url=context_url)
        firsts.append(time.perf_counter() - started)
        first_cpu.append(cpu_seconds() - cpu_started)
        started = time.perf_counter()
        again = proposal_diff(proposal=proposal, context_url=context_url)
        cached.append(time.perf_counter() - started)
        assert again.cached and again.html == rendered.html

    # Our highlighting alone (no git, no templates), for the ratio against the baseline.
    old_files = {}
    for pfile in diffs.parse(diff_text):
        path = diffs.unquote_git_path(pfile.source_file)
        old_files[path] = git(repo_path, "show", f"{base}:{path}")
    started = time.perf_counter()
    view = diffs.render_diff(diff_text, read_old=old_files.get)
    ours = time.perf_counter() - started

    lexer = diffs.lexer_for("x.py")
    naive_s, naive_html = naive_per_line(diff_text, lexer)
    # Compare token colours only: the changed-word marks are not part of highlighting.
    ours_html = [
        re.sub(r'<span class="x">([^<]*)</span>', r"\1", row.html)
        for f in view.files
        for h in f.hunks
        for row in h.rows
        if row.kind != "note"
    ]
    wrong = sum(
        1 for a, b in zip(naive_html, ours_html, strict=False) if a.rstrip("\n") != b.rstrip("\n")
    )

    first_s = statistics.median(firsts)
    cpu_s = statistics.median(first_cpu)
    cached_s = statistics.median(cached)
    print(f"diff: {len(view.files)} files, {diff_lines} lines, +{view.added} -{view.removed}")
    print(f"rendered HTML: {len(rendered.html) / 1024:.0f} KB")
    print(
        f"first render (cold cache, git + lexing + templates): median {first_s * 1000:.0f} ms, "
        f"worst {max(firsts) * 1000:.0f} ms   target ≤ 1000 ms  "
        f"{'OK' if first_s <= 1 else 'MISSED'}"
    )
    print(
        f"first render CPU time (this process + git): median {cpu_s * 1000:.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
        "(wall time above includes waiting for other processes)"
    )
    print(
        f"cached render: median {cached_s * 1000:.1f} ms, worst {max(cached) * 1000:.1f} ms   "
        f"target ≤ 100 ms  {'OK' if cached_s <= 0.1 else 'MISSED'}"
    )
    print(
        f"our highlighting (parse + whole-file-correct lexing + rows, no git/templates): "
        f"{ours * 1000:.0f} ms"
    )
    print(
        f"baseline, pygments.highlight per line: {naive_s * 1000:.0f} ms "
        f"= {ours / naive_s:.2f}x its time for our highlighting, "
        f"{first_s / naive_s:.2f}x for our whole first render"
    )
    print(
        f"lines the per-line baseline colours differently (multi-line strings, docstrings): "
        f"{wrong} of {len(ours_html)}"
    )
    print(f"cached vs first render: {first_s / cached_s:.0f}x faster")
    sparse_change(repo_path)


def sparse_change(repo_path: Path) -> None:
    """One changed line at the end of a ~2,000-line module: lexing from statement starts
    against lexing both whole files (the simple correct approach)."""
    big = "".join(module(seed, set()) for seed in range(9))
    changed = big[: big.rindex("return")] + "return None\n"
    diff_text = "diff --git a/svc/big.py b/svc/big.py\n" + "".join(
        difflib.unified_diff(
            big.splitlines(True), changed.splitlines(True), "a/svc/big.py", "b/svc/big.py"
        )
    )
    lexer = diffs.lexer_for("big.py")
    started = time.perf_counter()
    view = diffs.render_diff(diff_text, read_old={"svc/big.py": big}.get)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    diffs.highlight_lines(big, lexer)
    diffs.highlight_lines(changed, lexer)
    whole = time.perf_counter() - started
    print(
        f"sparse diff (1 line changed at the end of a {big.count(chr(10)):,}-line module): "
        f"{ours * 1000:.0f} ms, against {whole * 1000:.0f} ms lexing both whole files "
        f"({whole / ours:.1f}x); hunk rows: {sum(len(h.rows) for h in view.files[0].hunks)}"
    )


if __name__ == "__main__":
    main()
