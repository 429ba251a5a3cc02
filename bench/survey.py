"""Benchmark: the survey of a 50,000-line repository (issue #14 item 4; target under 60 s).

    .venv/bin/python bench/survey.py                       # real code: 50,000 lines of stdlib
    .venv/bin/python bench/survey.py --source generated --lines 200000 --limit 500

The repository is real code by default: whole packages of this interpreter's standard library
(email, http, json, logging, xml, ...; not its tests), copied in a fixed order until `--lines`
are reached, and committed to a fresh git repository. `--source generated` writes modules of
synthetic functions instead (deterministic; a mix of plain code and the shapes the skills look
for). It registers the repository and times `survey_run` end to end: git's file list, parsing,
every skill's trigger on every function, the codemod confirming the top hits, the ingest of
the top opportunities. Then it surveys again: the second run files nothing new (idempotent).
Target (issue #14 item 4): the first run is the WHOLE survey — every hit it considers
confirmed or refused, none left unconfirmed, `--limit` opportunities filed — in under 60 s on
2 cores. Each run's time and counts are printed; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# `python bench/survey.py` puts bench/ first on sys.path, where a sibling script named like a
# standard library module (bench/queue.py) would shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT / "bench"]
sys.path.insert(0, str(PROJECT))

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--lines", type=int, default=50_000)
parser.add_argument("--limit", type=int, default=100)
parser.add_argument("--source", choices=("stdlib", "generated"), default="stdlib")
args = parser.parse_args()

tmp = Path(tempfile.mkdtemp(prefix="wattson-bench-survey-"))
os.environ["WATTSON_VAR_DIR"] = str(tmp)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ["DJANGO_DEBUG"] = "0"
os.environ["WATTSON_AUTO_SOLVE"] = "0"
os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from reviews.models import Repository, Service  # noqa: E402
from reviews.services.survey import survey_run  # noqa: E402

# Function shapes, one in four of them something a skill triggers on.
SHAPES = [
    "def {name}(rows):\n    total = 0\n    for row in rows:\n        total += row * {n}\n"
    "    return total\n",
    "def {name}(text):\n    cleaned = re.sub(r'\\s+', ' ', text)\n    return cleaned.strip()\n",
    "def {name}(values):\n    result = {{}}\n    for key, value in values.items():\n"
    "        result[key] = value - {n}\n    return result\n",
    "def {name}(items):\n    out = ''\n    for item in items:\n        out += str(item)\n"
    "    return out\n",
    "def {name}(a, b):\n    if a > b:\n        return a - b\n    return b - a + {n}\n",
    "def {name}(code):\n    return code in ALLOWED_CODES\n",
    "def {name}(x):\n    y = x * {n}\n    z = y + 1\n    return (x, y, z)\n",
    "def {name}(span):\n    logger.debug(f'span {{span}}')\n    return span\n",
    "class Worker{n}:\n    def __init__(self, size):\n        self.size = size\n\n"
    "    def run(self, rows):\n        picked = []\n        for i in range(len(rows)):\n"
    "            if rows[i] > self.size:\n                picked.append(rows[i])\n"
    "        return picked\n",
    "def {name}(ids, db):\n    found = []\n    for ident in ids:\n"
    "        found.append(db.execute('select 1 where id = ?', (ident,)))\n    return found\n",
]
HEADER = (
    '"""Generated module {index} for the survey benchmark."""\n\nimport logging\nimport re\n\n'
    "logger = logging.getLogger(__name__)\nALLOWED_CODES = [{codes}]\n\n\n"
)


def generate(root: Path, lines: int) -> int:
    """Write packages of modules (about 500 lines each) until `lines` are written."""
    written, index = 0, 0
    while written < lines:
        package = root / "service" / f"pkg{index // 20}"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").touch()
        codes = ", ".join(f"'C{k}'" for k in range(40))
        parts = [HEADER.format(index=index, codes=codes)]
        module_lines = parts[0].count("\n")
        number = 0
        while module_lines < 500:
            shape = SHAPES[(index * 7 + number) % len(SHAPES)]
            text = shape.format(name=f"step_{index}_{number}", n=number) + "\n\n"
            parts.append(text)
            module_lines += text.count("\n")
            number += 1
        (package / f"mod{index}.py").write_text("".join(parts))
        written += module_lines
        index += 1
    return written


STDLIB_PACKAGES = (
    "email",
    "http",
    "json",
    "logging",
    "xml",
    "urllib",
    "html",
    "importlib",
    "concurrent",
    "asyncio",
    "multiprocessing",
    "unittest",
)


def copy_stdlib(root: Path, lines: int) -> int:
    """Whole standard-library packages (tests left out) until `lines` are copied."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    written = 0
    for name in STDLIB_PACKAGES:
        if written >= lines:
            break
        shutil.copytree(
            stdlib / name,
            root / "lib" / name,
            ignore=shutil.ignore_patterns("test", "tests", "__pycache__", "*.pyc"),
        )
        copied = (root / "lib" / name).rglob("*.py")
        written += sum(path.read_text(errors="replace").count("\n") for path in copied)
    return written


def git(root: Path, *argv: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env.update(GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.com")
    subprocess.run(["git", "-C", str(root), *argv], check=True, capture_output=True, env=env)


def main() -> None:
    call_command("migrate", verbosity=0)
    root = tmp / "surveyed"
    root.mkdir()
    lines = copy_stdlib(root, args.lines) if args.source == "stdlib" else generate(root, args.lines)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated")
    repository = Repository.objects.create(name="surveyed", path=str(root))
    Service.objects.create(name="surveyed-svc", repository=repository)
    print(f"repository: {lines:,} lines in {len(list(root.rglob('*.py'))):,} files")
    results = []
    for label in ("whole survey", "again (idempotent)"):
        started = time.perf_counter()
        result = survey_run(repository=repository, limit=args.limit)
        seconds = time.perf_counter() - started
        results.append((seconds, result))
        print(
            f"{label}: {seconds:.1f} s, {result.functions:,} functions, {result.hits:,} trigger "
            f"hits ({result.refused:,} refused by their codemod, {result.unconfirmed:,} left "
            f"unconfirmed), {len(result.opportunities)} opportunities filed, "
            f"{len(result.created)} new"
        )
    (first_s, first), (_again_s, again) = results
    cores = os.cpu_count()
    checks = {
        f"whole survey of {lines:,} lines under 60 s on {cores} cores ({first_s:.1f} s)": (
            first_s < 60
        ),
        "complete: nothing left unconfirmed": first.unconfirmed == 0,
        f"{args.limit} opportunities filed by the first run": len(first.created) == args.limit,
        "a second run files nothing new": (
            not again.created and again.opportunities == first.opportunities
        ),
    }
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {check}")
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if all(checks.values()) else 1)


main()
