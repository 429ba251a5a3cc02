"""Dependencies run one way: reviews → skills, and skills/tools below skills/solver."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SKILLS = Path(__file__).resolve().parents[2] / "skills"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))  # apps.get_model("reviews", ...)
    return names


def sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", sources(SKILLS), ids=lambda p: str(p.relative_to(SKILLS)))
def test_skills_never_reaches_into_reviews(path):
    reaching = {name for name in imported_modules(path) if name.split(".")[0] == "reviews"}
    assert not reaching, f"{path} reads reviews: {reaching}"


@pytest.mark.parametrize(
    "path", sources(SKILLS / "tools"), ids=lambda p: str(p.relative_to(SKILLS))
)
def test_tools_never_import_the_solver(path):
    reaching = {name for name in imported_modules(path) if name.startswith("skills.solver")}
    assert not reaching, f"{path} imports the solver: {reaching}"
