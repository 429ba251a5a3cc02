"""Write (or refresh) the upstream files of every corpus case from a local copy of its history.

    python bench/realworld/extract.py MIRROR_ROOT [--case NAME]

MIRROR_ROOT holds one bare git directory per project at MIRROR_ROOT/<owner>+<name>/repo (what
the `fetch` tool leaves). For each case in CASES this copies the files that match the case's
`keep` patterns at the parent commit, the project's licence file, and the upstream commit's
diff restricted to those files (reference.diff), then writes case.json. The hand-written parts
of a case (bench.py, the unittest adapter and the notes in `replaced`) are not touched, except
that `replaced` files are overwritten with the text given here.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "cases"

TOOLZ_KEEP = [
    "toolz/compatibility.py",
    "toolz/utils.py",
    "toolz/itertoolz.py",
    "toolz/tests/test_itertoolz.py",
]
# toolz/__init__.py imports every submodule (functoolz, curried, sandbox); the itertoolz tests
# need none of them, so the case keeps an empty package marker instead.
# Its tests folder had no __init__.py then; the unittest adapter imports it as a package.
TOOLZ_INIT = {
    "toolz/__init__.py": '"""Trimmed for this case: itertoolz needs no other module."""\n',
    "toolz/tests/__init__.py": "",
}
MORE_KEEP = [
    "more_itertools/__init__.py",
    "more_itertools/more.py",
    "more_itertools/recipes.py",
    "tests/__init__.py",
    "tests/test_more.py",
]
PYPARSING_KEEP = ["pyparsing/*.py", "tests/__init__.py", "tests/test_simple_unit.py"]
MARKDOWN_KEEP = [
    "markdown/*.py",
    "markdown/extensions/*.py",
    "tests/__init__.py",
    "tests/test_syntax/__init__.py",
    "tests/test_syntax/blocks/*.py",
    "tests/test_syntax/inline/*.py",
]
TOOLZ = {
    "project": "pytoolz/toolz",
    "license": "LICENSE.txt",
    "keep": TOOLZ_KEEP,
    "replaced": TOOLZ_INIT,
    "test_cmd": "python3 -m unittest -q test_upstream",
    "window": "2016-01-01..2018-12-31",
}
MORE = {
    "project": "more-itertools/more-itertools",
    "license": "LICENSE",
    "keep": MORE_KEEP,
    "test_cmd": "python3 -m unittest -q tests.test_more",
    "window": "2025-06-01..2025-12-31",
}
PYPARSING = {
    "project": "pyparsing/pyparsing",
    "license": "LICENSE",
    "keep": PYPARSING_KEEP,
    "test_cmd": "python3 -m unittest -q tests.test_simple_unit",
    "window": "2023-01-01..2024-12-31",
}
MARKDOWN = {
    "project": "Python-Markdown/markdown",
    "license": "LICENSE.md",
    "keep": MARKDOWN_KEEP,
    "test_cmd": "python3 -m unittest discover -q -s tests/test_syntax -t .",
    "window": "2019-01-01..2025-12-31",
}

CASES = {
    "toolz-merge_sorted": (TOOLZ, "aa60b07f67", "toolz.itertoolz.merge_sorted"),
    "toolz-sliding_window": (TOOLZ, "91625e0ab1", "toolz.itertoolz.sliding_window"),
    "toolz-interleave": (TOOLZ, "c5d6d260bd", "toolz.itertoolz.interleave"),
    "toolz-interpose": (TOOLZ, "80ba8240f7", "toolz.itertoolz.interpose"),
    "toolz-join": (TOOLZ, "18947feed9", "toolz.itertoolz.join"),
    "more-concurrent_tee": (MORE, "f0f662ea07", "more_itertools.more._concurrent_tee.__init__"),
    "more-exactly_n": (MORE, "adeda34bd1", "more_itertools.more.exactly_n"),
    "more-complex_sumprod": (MORE, "8726eb0a6c", "more_itertools.more._complex_sumprod"),
    "pyparsing-trim_arity": (PYPARSING, "fda7cd360e", "pyparsing.core._trim_arity"),
    "pyparsing-or_empty": (PYPARSING, "05d894d2a6", "pyparsing.core.ParserElement.__or__"),
    "markdown-rawhtml_post": (
        MARKDOWN,
        "1caf028924",
        "markdown.postprocessors.RawHtmlPostprocessor.run",
    ),
    "markdown-inline_len": (
        MARKDOWN,
        "4b836201f0",
        "markdown.treeprocessors.InlineProcessor.__handleInline",
    ),
    # The commit changes the constant HTML_RE; its matching runs in InlineProcessor.__applyPattern,
    # which is what a profile of the workload names.
    "markdown-html_re": (
        MARKDOWN,
        "97c1edd5d0",
        "markdown.treeprocessors.InlineProcessor.__applyPattern",
        "markdown/treeprocessors.py",
    ),
    "markdown-link_re": (
        MARKDOWN,
        "cb47805e10",
        "markdown.inlinepatterns.LinkInlineProcessor.getLink",
    ),
}


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True
    ).stdout


def extract(name: str, mirror_root: Path) -> None:
    spec, short, symbol, *where = CASES[name]
    git_dir = mirror_root / spec["project"].replace("/", "+") / "repo"
    commit = git(git_dir, "rev-parse", short).strip()
    parent = git(git_dir, "rev-parse", f"{commit}^").strip()
    title = git(git_dir, "log", "-1", "--format=%s", commit).strip()
    date = git(git_dir, "log", "-1", "--format=%cs", commit).strip()
    tree = git(git_dir, "ls-tree", "-r", "--name-only", parent).splitlines()
    kept = [p for p in tree if any(fnmatch.fnmatchcase(p, pat) for pat in spec["keep"])]
    replaced = spec.get("replaced", {})
    module = [
        p
        for p in git(git_dir, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split()
        if p in kept and "tests/" not in p
    ]
    dest = CASES_DIR / name
    upstream = dest / "upstream"
    for path in [*kept, spec["license"]]:
        target = upstream / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(
            subprocess.run(
                ["git", f"--git-dir={git_dir}", "show", f"{parent}:{path}"],
                check=True,
                capture_output=True,
            ).stdout
        )
    for path, text in replaced.items():
        (upstream / path).parent.mkdir(parents=True, exist_ok=True)
        (upstream / path).write_text(text)
    diff = git(git_dir, "diff", "--full-index", parent, commit, "--", *kept)
    (dest / "reference.diff").write_text(diff)
    case = {
        "name": name,
        "project": spec["project"],
        "upstream": f"https://github.com/{spec['project']}",
        "license": spec["license"],
        "selection_window": spec["window"],
        "parent": parent,
        "commit": commit,
        "title": title,
        "date": date,
        "functions": [{"symbol": symbol, "file": where[0] if where else module[0]}],
        "changed_module": module[0],
        "kept": sorted(kept),
        "replaced": sorted(replaced),
        "test_cmd": spec["test_cmd"],
        "bench_cmd": "python3 bench.py",
    }
    (dest / "case.json").write_text(json.dumps(case, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mirror_root", type=Path)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    args = parser.parse_args()
    for name in args.case or sorted(CASES):
        extract(name, args.mirror_root)
        print(name)


if __name__ == "__main__":
    main()
