"""Apply the corpus selection rule to one project's git history and print what it selects.

    python bench/realworld/select_commits.py GIT_DIR [--since 2015-01-01] [--until 2025-12-31]

The rule (also at the top of README.md): every non-merge commit reachable from the project's
default branch, committed between SINCE and UNTIL, whose title (first line) matches TITLE_RULE,
whose change touches exactly one .py file outside the tests, that file being part of the
project's package (not examples, docs, benchmarks or setup.py) while every other changed file is
a test or not Python, and whose module has tests upstream: at the parent commit some test file
names the module. The output lists every
selected commit; dropping one afterwards needs a written reason in README.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess

TITLE_RULE = re.compile(r"\bperf\b|performance|speed|faster|optimi[sz]", re.IGNORECASE)
# Files that are not the project's importable code.
NOT_MODULE_DIRS = ("tests", "test", "testing", "examples", "docs", "doc", "benchmark", "benchmarks")


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True
    ).stdout


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    parts = path.split("/")
    return (
        any(p in ("tests", "test", "testing") for p in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def module_has_tests(git_dir: str, parent: str, module: str) -> bool:
    stem = module.rsplit("/", 1)[-1].removesuffix(".py")
    if stem == "__init__":
        stem = module.rsplit("/", 2)[-2]
    files = git(git_dir, "ls-tree", "-r", "--name-only", parent).split()
    tests = [f for f in files if f.endswith(".py") and is_test_path(f)]
    if any(stem in t.rsplit("/", 1)[-1] for t in tests):
        return True
    pattern = re.compile(rf"\b{re.escape(stem)}\b")
    return any(pattern.search(git(git_dir, "show", f"{parent}:{t}")) for t in tests)


def select(git_dir: str, since: str, until: str) -> list[dict]:
    log = git(
        git_dir,
        "log",
        "--no-merges",
        f"--since={since}",
        f"--until={until}",
        "--format=%H%x09%cs%x09%s",
        "HEAD",
    )
    chosen = []
    for line in log.splitlines():
        sha, date, title = line.split("\t", 2)
        if not TITLE_RULE.search(title):
            continue
        changed = git(git_dir, "diff-tree", "--no-commit-id", "--name-only", "-r", sha).split()
        modules = [p for p in changed if p.endswith(".py") and not is_test_path(p)]
        code = [
            p
            for p in modules
            if not any(d in NOT_MODULE_DIRS for d in p.split("/")[:-1]) and p != "setup.py"
        ]
        if len(modules) != 1 or len(code) != 1:
            continue
        parent = git(git_dir, "rev-parse", f"{sha}^").strip()
        if not module_has_tests(git_dir, parent, modules[0]):
            continue
        chosen.append({"sha": sha, "date": date, "title": title, "module": modules[0]})
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir")
    parser.add_argument("--since", default="2015-01-01")
    parser.add_argument("--until", default="2025-12-31")
    args = parser.parse_args()
    for c in select(args.git_dir, args.since, args.until):
        print(f"{c['sha'][:10]} {c['date']} {c['module']:40s} {c['title']}")


if __name__ == "__main__":
    main()
