"""Fixtures shared by the bench/realworld tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[2] / "bench" / "realworld"


@pytest.fixture
def realworld(monkeypatch):
    """bench/realworld/run.py as a module, with its directory importable (build, verify)."""
    saved = list(sys.path)
    spec = importlib.util.spec_from_file_location("realworld_run", HERE / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.path[:] = saved  # run.py rearranges sys.path for itself; keep only its directory
    monkeypatch.syspath_prepend(str(HERE))
    yield module
    for name in ("build", "verify"):
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").parent == HERE:
            del sys.modules[name]
