"""Profiles read into each function's inclusive and self share (no Django).

Folded stacks (Brendan Gregg's `a;b;c 12`, which `py-spy record --format raw` writes, frames
like `render (invoicing/render.py:42)`), speedscope JSON (sampled and evented profiles) and
cProfile/profile files (read with the standard library's `pstats.Stats`). A function's
inclusive share counts each sample once however often it recurses in that stack.
"""

from __future__ import annotations

import json
import pstats
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from reviews.detection.histories import HistoryError

PROFILE_FORMATS = ("folded", "speedscope", "pstats")
_PY_SPY_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")

# A function: (symbol, file).
Function = tuple[str, str]


@dataclass(frozen=True)
class FunctionShareRow:
    function: str
    file: str
    inclusive_share: float  # 0..1
    self_share: float


@dataclass(frozen=True)
class ProfileData:
    total: float
    shares: list[FunctionShareRow]


def symbol_for(name: str, file: str) -> str:
    """A dotted symbol when the file is a relative Python path: pkg/mod.py + f → pkg.mod.f."""
    if file.endswith(".py") and not file.startswith(("/", "<")) and ".." not in file:
        module = file[:-3].replace("/", ".").removesuffix(".__init__")
        return f"{module}.{name}"
    return name


def _frame(text: str) -> Function:
    text = text.strip()
    match = _PY_SPY_FRAME.match(text)
    if match:
        return symbol_for(match["name"], match["file"]), match["file"]
    return text, ""


def profile_read(path: Path, fmt: str) -> ProfileData:
    if fmt not in PROFILE_FORMATS:
        raise HistoryError("format", f"{fmt!r} is not one of {', '.join(PROFILE_FORMATS)}")
    if not path.is_file():
        raise HistoryError("file", f"{path}: no such file")
    reader = {"folded": _read_folded, "speedscope": _read_speedscope, "pstats": _read_pstats}
    return reader[fmt](path)


def _shares(inclusive: dict, self_time: dict, total: float, source: str) -> ProfileData:
    if total <= 0:
        raise HistoryError(source, "the profile holds no samples")
    rows = [
        FunctionShareRow(
            function=function[0][:500],
            file=function[1][:1000],
            inclusive_share=min(1.0, inclusive[function] / total),
            self_share=min(1.0, self_time.get(function, 0.0) / total),
        )
        for function in inclusive
    ]
    rows.sort(key=lambda row: (-row.inclusive_share, row.function, row.file))
    return ProfileData(total=total, shares=rows)


def _read_folded(path: Path) -> ProfileData:
    inclusive: dict[Function, float] = defaultdict(float)
    self_time: dict[Function, float] = defaultdict(float)
    total = 0.0
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HistoryError("file", "folded stacks must be UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        stack, _, count = line.rstrip().rpartition(" ")
        try:
            samples = float(count)
        except ValueError:
            raise HistoryError(
                f"line {number}: count", "a folded line is `frame;frame;... COUNT`"
            ) from None
        if not stack or samples < 0:
            raise HistoryError(f"line {number}: stack", "a folded line is `frame;frame;... COUNT`")
        frames = [_frame(part) for part in stack.split(";")]
        total += samples
        for function in set(frames):
            inclusive[function] += samples
        self_time[frames[-1]] += samples
    return _shares(inclusive, self_time, total, "stacks")


def _read_speedscope(path: Path) -> ProfileData:
    try:
        document = json.loads(path.read_bytes())
        frames = [
            (symbol_for(f["name"], f.get("file", "")), f.get("file", ""))
            for f in document["shared"]["frames"]
        ]
        profiles = document["profiles"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise HistoryError(
            "shared.frames", "a speedscope file has shared.frames [{name, file}] and profiles"
        ) from None
    inclusive: dict[Function, float] = defaultdict(float)
    self_time: dict[Function, float] = defaultdict(float)
    total = 0.0
    for number, profile in enumerate(profiles):
        try:
            if profile["type"] == "sampled":
                total += _speedscope_sampled(profile, frames, inclusive, self_time)
            elif profile["type"] == "evented":
                total += _speedscope_evented(profile, frames, inclusive, self_time)
            else:
                raise KeyError("type")
        except (KeyError, IndexError, TypeError, ValueError):
            raise HistoryError(
                f"profiles[{number}]", "not a sampled or evented speedscope profile"
            ) from None
    return _shares(inclusive, self_time, total, "profiles")


def _speedscope_sampled(profile: dict, frames: list, inclusive: dict, self_time: dict) -> float:
    total = 0.0
    for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
        weight = float(weight)
        total += weight
        for function in {frames[index] for index in stack}:
            inclusive[function] += weight
        if stack:
            self_time[frames[stack[-1]]] += weight
    return total


def _speedscope_evented(profile: dict, frames: list, inclusive: dict, self_time: dict) -> float:
    open_at: list[tuple[Function, float]] = []
    last = float(profile["startValue"])
    for event in profile["events"]:
        at = float(event["at"])
        if open_at:
            self_time[open_at[-1][0]] += at - last
        last = at
        function = frames[event["frame"]]
        if event["type"] == "O":
            open_at.append((function, at))
        elif event["type"] == "C":
            closed, started = open_at.pop()
            # A recursive call's time is already counted by the outermost one.
            if all(function != outer for outer, _ in open_at):
                inclusive[closed] += at - started
    return float(profile["endValue"]) - float(profile["startValue"])


def _read_pstats(path: Path) -> ProfileData:
    # pstats reads marshal data, which Python does not harden against hostile input: only
    # ingest accounts and the operator's CLI may send profiles.
    try:
        stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    except Exception:
        raise HistoryError("file", "not a cProfile/profile stats file (pstats)") from None
    inclusive: dict[Function, float] = {}
    self_time: dict[Function, float] = {}
    for (file, _line, name), (_cc, _nc, tt, ct, _callers) in stats.items():
        function = (symbol_for(name, file), file)
        inclusive[function] = inclusive.get(function, 0.0) + ct
        self_time[function] = self_time.get(function, 0.0) + tt
    return _shares(inclusive, self_time, sum(self_time.values()), "stats")
