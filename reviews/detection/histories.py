"""Benchmark histories as teams already keep them, read into plain rows (no Django).

asv result files are read with asv's own `Results.load`, pyperf files with pyperf's
`BenchmarkSuite.load`; pytest-benchmark's `--benchmark-json`, Apache Otava's CSV (a time column,
a commit attribute, one column per metric) and the plain CSV (time, commit, series, value) are
plain JSON and CSV, read here. Every error names the file, the place and the field.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyperf
from asv.results import Results as AsvResults

FORMATS = ("csv", "asv", "pyperf", "pytest-benchmark", "otava")
# Files asv keeps beside its results that are not results.
_ASV_NOT_RESULTS = {"machine.json", "benchmarks.json"}


class HistoryError(Exception):
    """Input that cannot be read: `field` names what is wrong, `where` where (the API's 400).

    A field given as "line 3: time" is that field at that place: field "time", where "line 3".
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        where, _, name = field.rpartition(": ")
        self.field = name
        self.where = where
        self.message = message


@dataclass(frozen=True)
class HistoryRow:
    series: str
    time: datetime
    commit: str
    value: float
    unit: str = ""


def parse_time(text: str, *, field: str) -> datetime:
    """ISO 8601 (a naive time is UTC) or unix seconds."""
    text = text.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(text), tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise HistoryError(field, f"{text!r} is not a time (ISO 8601 or unix seconds)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(text: object, *, field: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise HistoryError(field, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise HistoryError(field, f"{text!r} is not a finite number")
    return value


def history_read(path: Path, fmt: str) -> list[HistoryRow]:
    """Every row of a history file (or asv/pyperf/pytest-benchmark directory) in `fmt`."""
    if fmt not in FORMATS:
        raise HistoryError("format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if not path.exists():
        raise HistoryError("file", f"{path}: no such file or directory")
    readers = {
        "csv": _read_csv,
        "otava": _read_otava,
        "asv": _read_asv,
        "pyperf": _read_pyperf,
        "pytest-benchmark": _read_pytest_benchmark,
    }
    if fmt in ("csv", "otava"):
        if path.is_dir():
            raise HistoryError("file", f"{path} is a directory: pass the CSV file")
        return readers[fmt](path)
    files = sorted(_json_files(path)) if path.is_dir() else [path]
    if not files:
        raise HistoryError("file", f"{path} holds no .json result files")
    rows: list[HistoryRow] = []
    for file in files:
        rows += readers[fmt](file)
    return rows


def _json_files(directory: Path) -> Iterator[Path]:
    for file in directory.rglob("*.json"):
        if file.name not in _ASV_NOT_RESULTS:
            yield file


def _csv_rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise HistoryError(f"{path.name}: file", "is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    reader.fieldnames = header
    # Line numbers as an editor shows them: the header is line 1.
    return header, ((number, row) for number, row in enumerate(reader, start=2))


def _read_csv(path: Path) -> list[HistoryRow]:
    header, rows = _csv_rows(path)
    missing = [name for name in ("time", "commit", "series", "value") if name not in header]
    if missing:
        raise HistoryError(
            missing[0], "the header must name the columns time,commit,series,value (unit optional)"
        )
    out = []
    for line, row in rows:
        series = (row.get("series") or "").strip()
        if not series:
            raise HistoryError(f"line {line}: series", "is empty")
        out.append(
            HistoryRow(
                series=series,
                time=parse_time(row.get("time") or "", field=f"line {line}: time"),
                commit=(row.get("commit") or "").strip(),
                value=_number(row.get("value"), field=f"line {line}: value"),
                unit=(row.get("unit") or "").strip(),
            )
        )
    return out


def _read_otava(path: Path) -> list[HistoryRow]:
    """Otava's CSV: `time`, attribute columns (`commit` is the one kept), one column per metric."""
    header, rows = _csv_rows(path)
    if "time" not in header:
        raise HistoryError("time", "Otava's CSV needs a time column (its time_column: time)")
    attributes = {"time", "commit", "branch", "version", "build"}
    metrics = [name for name in header if name not in attributes]
    if not metrics:
        raise HistoryError("header", "no metric columns beside time and the attributes")
    out = []
    for line, row in rows:
        time = parse_time(row.get("time") or "", field=f"line {line}: time")
        commit = (row.get("commit") or "").strip()
        for metric in metrics:
            cell = (row.get(metric) or "").strip()
            if cell:  # Otava leaves a metric out of a row by an empty cell
                value = _number(cell, field=f"line {line}: {metric}")
                out.append(HistoryRow(series=metric, time=time, commit=commit, value=value))
    return out


def _read_asv(path: Path) -> list[HistoryRow]:
    try:
        results = AsvResults.load(str(path))
    except Exception as exc:  # asv raises its own util.UserError, KeyError, ValueError...
        raise HistoryError(f"{path.name}: file", f"not an asv result file: {exc}") from None
    if not isinstance(results.date, int | float):
        raise HistoryError(f"{path.name}: date", "asv's date (milliseconds) is missing")
    time = datetime.fromtimestamp(results.date / 1000, tz=UTC)
    commit = results.commit_hash or ""
    out = []
    for key in sorted(results.get_all_result_keys()):
        params = results.get_result_params(key)
        values = results.get_result_value(key, params)
        names = _asv_param_names(key, params)
        unit = "s" if key.rsplit(".", 1)[-1].startswith("time_") else ""
        for name, value in zip(names, values if params else [values[0]], strict=False):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue  # a failed or skipped benchmark run: no point
            out.append(
                HistoryRow(
                    series=name,
                    time=time,
                    commit=commit,
                    value=_number(value, field=f"{path.name}: results.{key}"),
                    unit=unit,
                )
            )
    return out


def _asv_param_names(key: str, params: list[list[str]]) -> list[str]:
    if not params:
        return [key]
    combos: list[list[str]] = [[]]
    for values in params:
        combos = [combo + [value] for combo in combos for value in values]
    return [f"{key}({', '.join(combo)})" for combo in combos]


def _read_pyperf(path: Path) -> list[HistoryRow]:
    try:
        suite = pyperf.BenchmarkSuite.load(str(path))
    except Exception as exc:  # pyperf raises ValueError, KeyError, TypeError on bad files
        raise HistoryError(f"{path.name}: file", f"not a pyperf JSON file: {exc}") from None
    out = []
    for bench in suite.get_benchmarks():
        name = bench.get_name()
        metadata = bench.get_metadata()
        commit = str(metadata.get("commit_id", "")).strip()
        dates = bench.get_dates()
        when = metadata.get("commit_date") or (dates[0].isoformat() if dates else "")
        if not when:
            raise HistoryError(
                f"{path.name}: {name}: metadata.date", "no run carries a date to place it in time"
            )
        out.append(
            HistoryRow(
                series=name,
                time=parse_time(str(when), field=f"{path.name}: {name}: metadata.commit_date"),
                commit=commit,
                value=bench.mean(),
                unit=bench.get_unit(),
            )
        )
    return out


def _read_pytest_benchmark(path: Path) -> list[HistoryRow]:
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise HistoryError(f"{path.name}: file", f"not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("benchmarks"), list):
        raise HistoryError(f"{path.name}: benchmarks", "a --benchmark-json file has a list here")
    commit_info = document.get("commit_info") or {}
    commit = str(commit_info.get("id") or "").strip()
    when = str(commit_info.get("time") or document.get("datetime") or "")
    time = parse_time(when, field=f"{path.name}: datetime")
    out = []
    for index, bench in enumerate(document["benchmarks"]):
        where = f"{path.name}: benchmarks[{index}]"
        if not isinstance(bench, dict):
            raise HistoryError(where, "is not an object")
        name = bench.get("fullname") or bench.get("name")
        if not isinstance(name, str) or not name:
            raise HistoryError(f"{where}.name", "is missing")
        stats = bench.get("stats")
        if not isinstance(stats, dict):
            raise HistoryError(f"{where}.stats", "is missing")
        value = _number(stats.get("mean"), field=f"{where}.stats.mean")
        out.append(HistoryRow(series=name, time=time, commit=commit, value=value, unit="s"))
    return out
