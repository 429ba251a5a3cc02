"""Turn one corpus case into a git repository Wattson can solve.

    python bench/realworld/build.py CASE DEST [--reference]

DEST (which must not exist) becomes a repository on branch `main` with one commit: the case's
upstream files at the parent of the performance commit, plus its bench.py and any adapter
files, by a fixed author at a fixed date, so the same case always gives the same sha.
`--reference` then applies the upstream diff (reference.diff) to the work tree, uncommitted,
so the upstream fix can be tested and timed the same way as Wattson's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_META = ("case.json", "reference.diff")
FIXED_DATE = "2026-01-01T00:00:00Z"
# Only the repository's own settings: no user hooks, no system config, fixed identity.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Corpus Builder",
    "GIT_AUTHOR_EMAIL": "corpus@example.com",
    "GIT_COMMITTER_NAME": "Corpus Builder",
    "GIT_COMMITTER_EMAIL": "corpus@example.com",
    "GIT_AUTHOR_DATE": FIXED_DATE,
    "GIT_COMMITTER_DATE": FIXED_DATE,
}


def case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.json").is_file())


def load_case(name: str) -> dict:
    return json.loads((CASES_DIR / name / "case.json").read_text())


def git(dest: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(dest), "-c", "core.hooksPath=/dev/null", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout.strip()


def build(name: str, dest: Path, *, reference: bool = False) -> str:
    """Build the case at DEST; return the commit sha."""
    case_dir = CASES_DIR / name
    if dest.exists():
        raise SystemExit(f"{dest} exists: the builder only writes a new directory")
    shutil.copytree(case_dir / "upstream", dest)
    for extra in case_dir.iterdir():
        if extra.is_file() and extra.name not in CASE_META:
            shutil.copy2(extra, dest / extra.name)
    (dest / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    case = load_case(name)
    git(
        dest,
        "commit",
        "-q",
        "-m",
        f"{case['project']} at {case['parent'][:12]} (parent of "
        f"{case['commit'][:12]}: {case['title']})",
    )
    if reference:
        apply_reference(name, dest)
    return git(dest, "rev-parse", "HEAD")


def apply_reference(name: str, dest: Path) -> None:
    git(dest, "apply", "--whitespace=nowarn", str(CASES_DIR / name / "reference.diff"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=case_names())
    parser.add_argument("dest", type=Path)
    parser.add_argument("--reference", action="store_true", help="apply the upstream fix too")
    args = parser.parse_args()
    print(build(args.case, args.dest, reference=args.reference))


if __name__ == "__main__":
    main()
