"""The read-only tool registry, tool by tool, on real scenario repositories."""

from __future__ import annotations

import subprocess

import jsonschema
import pytest

from skills.tools import REGISTRY, RepoSandbox, call_tool, tool_definitions
from skills.tools.records import ToolCallRecord
from tests.scenarios import build_scenario

# Scenario repositories are only read here, so one build per module is enough.


@pytest.fixture(scope="module")
def labels(tmp_path_factory):
    """The precompile-regex scenario: shipping.labels.parse_tracking inlined its pattern."""
    built = build_scenario("label_regex", tmp_path_factory.mktemp("tools") / "labels")
    root_cause = built["finding"]["root_cause"]["commit"]
    return {
        **built,
        "sandbox": RepoSandbox(
            built["path"],
            root_cause_commit=root_cause,
            skill_docs={
                "precompile-regex": "Hoist re.compile to module level.\n\nMitigation: ...",
                "memoize": "Cache a pure function with functools.lru_cache.",
            },
        ),
        "root_cause": root_cause,
    }


@pytest.fixture(scope="module")
def lag(tmp_path_factory):
    """The hoist-loop-invariant scenario, whose root cause is not HEAD."""
    built = build_scenario("lag_monitor", tmp_path_factory.mktemp("tools") / "lag")
    root_cause = built["finding"]["root_cause"]["commit"]
    return {**built, "sandbox": RepoSandbox(built["path"], root_cause_commit=root_cause)}


def run(sandbox: RepoSandbox, name: str, **arguments) -> tuple[str, ToolCallRecord]:
    return call_tool(sandbox, name, arguments)


def ok(sandbox: RepoSandbox, name: str, **arguments) -> str:
    text, record = run(sandbox, name, **arguments)
    assert record.error == "", text
    assert not text.startswith("error:")
    return text


# --- registry ---------------------------------------------------------------------------------


def test_tool_definitions_are_anthropic_tools_with_valid_schemas():
    definitions = tool_definitions()
    names = [definition["name"] for definition in definitions]
    assert set(names) >= {
        "read_file",
        "search_code",
        "outline_file",
        "get_function",
        "root_cause_commit",
        "git_log",
        "blame",
        "skill_docs",
        "file_at_revision",
        "list_files",
    }
    for definition in definitions:
        assert set(definition) == {"name", "description", "input_schema"}
        assert len(definition["description"]) > 40
        schema = definition["input_schema"]
        assert schema["type"] == "object"
        jsonschema.Draft202012Validator.check_schema(schema)
        assert REGISTRY[definition["name"]].input_schema == schema
    # Decorating the returned definitions leaves the registry as it was.
    definitions[0]["input_schema"]["properties"]["injected"] = {"type": "string"}
    assert "injected" not in tool_definitions()[0]["input_schema"]["properties"]


def test_call_tool_records_the_call(labels):
    text, record = run(labels["sandbox"], "read_file", path="shipping/labels.py", end_line=3)
    assert record.tool == "read_file"
    assert record.arguments == {"path": "shipping/labels.py", "end_line": 3}
    assert record.error == ""
    assert record.duration_ms >= 0
    assert "shipping/labels.py" in record.summary
    assert "import re" in text


def test_unknown_tool_is_an_error_result_not_an_exception(labels):
    text, record = run(labels["sandbox"], "write_file", path="x")
    assert text.startswith("error: unknown tool 'write_file'")
    assert "read_file" in record.error


@pytest.mark.parametrize(
    "arguments, complaint",
    [
        ({}, "'path' is a required property"),
        ({"path": 3}, "is not of type 'string'"),
        ({"path": "shipping/labels.py", "start_line": 0}, "less than the minimum"),
        ({"path": "shipping/labels.py", "mode": "w"}, "Additional properties are not allowed"),
    ],
)
def test_arguments_are_validated_against_the_schema(labels, arguments, complaint):
    text, record = call_tool(labels["sandbox"], "read_file", arguments)
    assert text.startswith("error: invalid arguments for read_file")
    assert complaint in record.error


def test_output_is_capped_with_a_marker(labels):
    small = RepoSandbox(labels["path"], max_output_bytes=300)
    text, record = call_tool(small, "read_file", {"path": "shipping/labels.py"})
    assert record.error == ""
    assert len(text.encode()) < 300 + 100
    assert "[truncated]" in text
    assert text.startswith("shipping/labels.py (lines 1-39 of 39)")


# --- read_file --------------------------------------------------------------------------------


def test_read_file_numbers_lines_and_reads_a_range(labels):
    text = ok(labels["sandbox"], "read_file", path="shipping/labels.py", start_line=6, end_line=8)
    lines = text.splitlines()
    assert lines[0] == (
        "shipping/labels.py (lines 6-8 of 39; call again with start_line=9 for more)"
    )
    assert lines[1] == "6  def parse_tracking(raw):"
    assert lines[2].startswith('7      """(service, serial, country)')
    assert len(lines) == 4


def test_read_file_past_the_end_and_missing_files_are_clear_errors(labels):
    text, _ = run(labels["sandbox"], "read_file", path="shipping/labels.py", start_line=500)
    assert text == "error: shipping/labels.py has 39 lines; start_line 500 is past the end"
    text, _ = run(labels["sandbox"], "read_file", path="shipping/nope.py")
    assert text == "error: no such file: shipping/nope.py"
    text, _ = run(labels["sandbox"], "read_file", path="shipping")
    assert "is a directory" in text
    text, _ = run(
        labels["sandbox"], "read_file", path="shipping/labels.py", start_line=9, end_line=3
    )
    assert "before start_line" in text


# --- search_code ------------------------------------------------------------------------------


def test_search_code_finds_the_inline_regex(labels):
    text = ok(labels["sandbox"], "search_code", pattern=r"re\.(fullmatch|compile)\(")
    assert "shipping/labels.py:11:    match = re.fullmatch(" in text
    assert text.startswith("1 matching line(s)")


def test_search_code_limits_to_a_path_glob(labels):
    everywhere = ok(labels["sandbox"], "search_code", pattern="parse_tracking")
    assert "shipping/labels.py:" in everywhere and "tests/test_labels.py:" in everywhere
    only_tests = ok(labels["sandbox"], "search_code", pattern="parse_tracking", path="tests/*.py")
    assert "tests/test_labels.py:" in only_tests
    assert "shipping/labels.py" not in only_tests
    only_package = ok(labels["sandbox"], "search_code", pattern="parse_tracking", path="shipping")
    assert (
        "tests/" not in only_package
        and "shipping/labels.py:6:def parse_tracking(raw):" in only_package
    )


def test_search_code_accepts_backslash_d(labels):
    # POSIX ERE has no \d; models write it anyway.
    text = ok(labels["sandbox"], "search_code", pattern=r"\(\\d\{9\}\)", path="shipping/*.py")
    assert "shipping/labels.py:14:" in text
    digits = ok(labels["sandbox"], "search_code", pattern=r"range\(\d+", path="bench.py")
    assert "bench.py:" in digits
    bracketed = ok(labels["sandbox"], "search_code", pattern=r"\{[\d,]+\}", path="shipping/*.py")
    assert [line.split(":")[1] for line in bracketed.splitlines()[1:]] == ["13", "14", "15"]


def test_search_code_caps_matches(labels):
    text = ok(labels["sandbox"], "search_code", pattern=".", max_results=3)
    assert text.startswith("3 matching line(s)")
    assert "[truncated]" in text
    assert len(text.splitlines()) == 5


def test_search_code_no_match_and_bad_regex(labels):
    assert ok(labels["sandbox"], "search_code", pattern="no_such_identifier_xyz").startswith(
        "no matches for /no_such_identifier_xyz/"
    )
    text, record = run(labels["sandbox"], "search_code", pattern="((")
    assert text.startswith("error: search failed")
    assert "Unmatched" in record.error


def test_list_files_lists_tracked_files(labels):
    text = ok(labels["sandbox"], "list_files")
    assert text.splitlines() == [
        "5 tracked file(s)",
        "bench.py",
        "shipping/__init__.py",
        "shipping/labels.py",
        "tests/__init__.py",
        "tests/test_labels.py",
    ]
    assert ok(labels["sandbox"], "list_files", path="shipping").splitlines()[1:] == [
        "shipping/__init__.py",
        "shipping/labels.py",
    ]
    assert ok(labels["sandbox"], "list_files", path="**/test_*.py").splitlines()[1:] == [
        "tests/test_labels.py"
    ]
    capped = ok(labels["sandbox"], "list_files", max_results=2)
    assert capped.splitlines()[-1] == "[truncated] 2 of 5 files shown"
    assert ok(labels["sandbox"], "list_files", path="docs") == "no tracked files under docs\n"
    assert "contains '..'" in run(labels["sandbox"], "list_files", path="../")[0]


# --- outline_file and get_function ------------------------------------------------------------


def test_outline_file_lists_functions_with_line_ranges(labels):
    text = ok(labels["sandbox"], "outline_file", path="shipping/labels.py")
    assert "def parse_tracking(raw)  L6-23" in text
    assert "def parcels_by_carrier(parcels)  L26-39" in text


def test_outline_file_shows_classes_methods_and_module_names(lag, labels):
    text = ok(lag["sandbox"], "outline_file", path="tests/test_monitor.py")
    assert "class LaggingPartitionsTest(unittest.TestCase)" in text
    assert "  def test_paused_partitions_are_ignored(self)" in text
    assert "def part(index, topic, lag_ms, paused=False)  L6-" in text
    before = RepoSandbox(labels["path"])
    text = ok(before, "outline_file", path="shipping/labels.py")
    assert text.startswith("shipping/labels.py: 2 definition(s)")


def test_outline_file_refuses_non_python_and_reports_syntax_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    sandbox = RepoSandbox(tmp_path)
    assert "not a Python file" in run(sandbox, "outline_file", path="notes.txt")[0]
    text = run(sandbox, "outline_file", path="broken.py")[0]
    assert text.startswith("error: broken.py is not valid Python") and "line 1" in text


def test_get_function_resolves_the_module_from_the_symbol(labels):
    text = ok(labels["sandbox"], "get_function", symbol="shipping.labels.parse_tracking")
    lines = text.splitlines()
    assert (
        lines[0]
        == "shipping.labels.parse_tracking: def parse_tracking in shipping/labels.py, lines 6-23"
    )
    assert lines[1] == " 6  def parse_tracking(raw):"
    assert lines[-1].startswith("23      return service.upper()")


def test_get_function_finds_a_method_of_a_class(lag):
    text = ok(
        lag["sandbox"], "get_function", symbol="tests.test_monitor.SummaryTest.test_summary_line"
    )
    assert text.splitlines()[0].endswith(
        "def SummaryTest.test_summary_line in tests/test_monitor.py, lines 29-32"
    )
    assert "summary_line({}, 0)" in text
    assert "class SummaryTest" not in text


def test_get_function_uses_a_file_hint(lag):
    # A symbol whose dotted path does not match the layout still resolves with file=.
    text = ok(
        lag["sandbox"],
        "get_function",
        symbol="service.monitor.lagging_partitions",
        file="lag/monitor.py",
    )
    assert (
        "def lagging_partitions(partitions, recent_lag_ms, factor=4.0, topic_factors=None):" in text
    )


def test_get_function_prefers_the_method_over_a_same_named_function(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "def run():\n    return 'function'\n\n\n"
        "class Job:\n    def run(self):\n        return 'method'\n"
    )
    sandbox = RepoSandbox(tmp_path)
    for file in (None, "pkg/mod.py"):
        arguments = {"symbol": "pkg.mod.Job.run", **({"file": file} if file else {})}
        text = ok(sandbox, "get_function", **arguments)
        assert "return 'method'" in text and "return 'function'" not in text
    hinted = ok(sandbox, "get_function", symbol="legacy.Job.run", file="pkg/mod.py")
    assert "return 'method'" in hinted


def test_get_function_unknown_and_malformed_symbols(labels):
    text, _ = run(labels["sandbox"], "get_function", symbol="shipping.labels.no_such_function")
    assert "shipping.labels.no_such_function not found" in text
    assert "outline_file" in text
    text, _ = run(labels["sandbox"], "get_function", symbol="shipping/labels.py")
    assert "is not a dotted name" in text


# --- history ------------------------------------------------------------------------------------


def test_root_cause_commit_shows_author_message_files_and_hunks(labels):
    text = ok(labels["sandbox"], "root_cause_commit")
    author = "Nadia Haddad <nadia@example.com>"
    assert text.startswith(f"commit {labels['root_cause']}\nauthor: {author}")
    assert "Accept lowercase tracking numbers and spaces between their parts" in text
    assert "  shipping/labels.py  (+14 -6)" in text
    assert "  tests/test_labels.py  (+3 -0)" in text
    assert '-_TRACKING = re.compile(r"([A-Z]{2})(\\d{9})([A-Z]{2})")' in text
    assert "+    match = re.fullmatch(" in text


def test_root_cause_commit_limited_to_a_path_and_for_another_sha(labels):
    text = ok(labels["sandbox"], "root_cause_commit", path="tests/test_labels.py")
    assert "diff --git a/tests/test_labels.py" in text
    assert "diff --git a/shipping/labels.py" not in text
    base = ok(labels["sandbox"], "root_cause_commit", sha="HEAD~1")
    assert "author: Base Author <base@example.com>" in base
    assert "parent: (none: root commit)" in base


def test_root_cause_commit_of_a_merge_shows_what_it_brought_in(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.name=Ann", "-c", "user.email=ann@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (tmp_path / "app.py").write_text("def f():\n    return 1\n")
    (tmp_path / "logo.bin").write_bytes(b"\x00\x01")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    subprocess.run([*git, "checkout", "-qb", "topic"], check=True)
    (tmp_path / "app.py").write_text("def f():\n    return sum([1])\n")
    (tmp_path / "logo.bin").write_bytes(b"\x00\x02")
    subprocess.run([*git, "commit", "-qam", "slower f"], check=True)
    subprocess.run([*git, "checkout", "-q", "main"], check=True)
    subprocess.run([*git, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic"], check=True)

    text = ok(RepoSandbox(tmp_path, root_cause_commit="HEAD"), "root_cause_commit")
    assert "Merge topic" in text
    assert "  app.py  (+1 -1)" in text
    assert "  logo.bin  (binary)" in text
    assert "+    return sum([1])" in text
    assert "diff --cc" not in text


def test_root_cause_commit_without_one_says_so(labels):
    text, record = run(RepoSandbox(labels["path"]), "root_cause_commit")
    assert "no root-cause commit is known" in record.error
    text, record = run(labels["sandbox"], "root_cause_commit", sha="0123456789abcdef")
    assert "is not a commit in this repository" in record.error


def test_root_cause_is_not_head_in_lag_monitor(lag):
    text = ok(lag["sandbox"], "root_cause_commit")
    assert "author: Tomas Rivera <tomas@example.com>" in text
    log = ok(lag["sandbox"], "git_log", path="lag/monitor.py")
    subjects = [line.strip() for line in log.splitlines() if line.startswith("    ")]
    assert subjects == [
        "One-line lag summary for the on-call channel",
        "Per-topic lag factors for the batch consumers",
        "Lag monitor: flag partitions lagging far behind the recent median",
    ]
    assert ok(lag["sandbox"], "git_log", max_entries=1).count("\n") == 2


def test_blame_attributes_lines_to_their_authors(labels):
    text = ok(labels["sandbox"], "blame", path="shipping/labels.py", start_line=11, end_line=12)
    lines = text.splitlines()
    assert lines[0].startswith("shipping/labels.py lines 11-12")
    assert all("Nadia Haddad" in line for line in lines[1:3])
    first = ok(labels["sandbox"], "blame", path="shipping/labels.py", start_line=3, end_line=3)
    assert "Base Author" in first and "import re" in first
    older = ok(labels["sandbox"], "blame", path="shipping/labels.py", end_line=6, rev="HEAD~1")
    assert "_TRACKING = re.compile" in older
    tail = ok(labels["sandbox"], "blame", path="shipping/labels.py", start_line=38)
    assert tail.splitlines()[0].startswith("shipping/labels.py lines 38-39 ")
    assert "return carriers, unreadable" in tail
    text, _ = run(labels["sandbox"], "blame", path="shipping/labels.py", start_line=50)
    assert (
        text == "error: cannot blame shipping/labels.py: file shipping/labels.py has only 39 lines"
    )
    text, _ = run(labels["sandbox"], "blame", path="shipping/missing.py")
    assert text.startswith("error: cannot blame shipping/missing.py")


def test_file_at_revision_shows_the_code_before_the_regression(labels):
    parent = f"{labels['root_cause']}~1"
    text = ok(labels["sandbox"], "file_at_revision", path="shipping/labels.py", rev=parent)
    assert text.startswith(f"shipping/labels.py at {parent} (")
    assert ' 6  _TRACKING = re.compile(r"([A-Z]{2})(\\d{9})([A-Z]{2})")' in text
    assert "re.fullmatch" not in text
    ranged = ok(
        labels["sandbox"], "file_at_revision", path="shipping/labels.py", rev="HEAD", end_line=3
    )
    assert ranged.splitlines()[-1] == "3  import re"
    text, _ = run(labels["sandbox"], "file_at_revision", path="shipping/new.py", rev="HEAD~1")
    assert "does not exist as a file at HEAD~1" in text
    text, _ = run(labels["sandbox"], "file_at_revision", path="shipping/labels.py", rev="nope")
    assert "is not a commit in this repository" in text


# --- skill_docs ---------------------------------------------------------------------------------


def test_skill_docs_lists_and_returns_instructions(labels):
    listing = ok(labels["sandbox"], "skill_docs")
    assert "memoize: Cache a pure function" in listing
    assert "precompile-regex: Hoist re.compile" in listing
    doc = ok(labels["sandbox"], "skill_docs", slug="precompile-regex")
    assert "Mitigation: ..." in doc
    text, record = run(labels["sandbox"], "skill_docs", slug="string-join")
    assert record.error == "no skill 'string-join'; available: memoize, precompile-regex"
