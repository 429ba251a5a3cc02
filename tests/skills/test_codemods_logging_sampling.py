"""logging-sampling: eager log formatting becomes lazy or guarded; the record text is unchanged."""

from __future__ import annotations

import logging

import pytest

from skills.codemods import CodemodRefused
from tests.skills.codemod_support import apply, dedent, load


def records(module, call, level=logging.DEBUG, logger_name="pkg.mod"):
    """Messages logged by call() with the logger at `level`."""
    logger = logging.getLogger(logger_name)
    captured: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            captured.append(record.getMessage())

    handler = Capture()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        call(module)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return captured


def test_fstring_with_repr_and_format_specs_becomes_lazy_arguments():
    source = """
    import logging

    log = logging.getLogger("pkg.mod")


    def bill(items):
        total = 0.0
        for item in items:
            total += item["price"]
            log.debug(f"billed {item!r} at {item['price']:.2f} -> 100% of {total:.3f} "
                      f"({len(items)} items)")
        return total
    """
    # len(...) is a call: the whole message cannot be lazy and cheap, so it is guarded.
    result = apply("logging-sampling", source, "bill")
    assert "if log.isEnabledFor(logging.DEBUG):" in result.new_source
    cheap = source.replace(' "\n                      f"({len(items)} items)"', '"')
    result = apply("logging-sampling", cheap, "bill")
    assert (
        "log.debug(\"billed %r at %.2f -> 100%% of %.3f\", item, item['price'], total)"
        in result.new_source
    )
    items = [{"price": 1.5, "sku": "a"}, {"price": 2.25, "sku": "b"}]
    old, new = load(dedent(cheap)), load(result.new_source)
    expected = records(old, lambda m: m.bill(items))
    assert expected and records(new, lambda m: m.bill(items)) == expected
    assert records(new, lambda m: m.bill(items), level=logging.INFO) == []
    assert new.bill(items) == old.bill(items)


def test_guard_keeps_the_message_and_adds_the_import_under_an_alias():
    source = """
    import json
    import logging as lg

    _LOG = lg.getLogger("pkg.mod")


    def emit(rows):
        for row in rows:
            _LOG.debug("row %s", json.dumps(row, sort_keys=True))
    """
    result = apply("logging-sampling", source, "emit")
    assert "        if _LOG.isEnabledFor(lg.DEBUG):\n" in result.new_source
    assert '            _LOG.debug("row %s", json.dumps(row, sort_keys=True))' in result.new_source
    old, new = load(dedent(source)), load(result.new_source)
    rows = [{"b": 1, "a": 2}]
    assert records(new, lambda m: m.emit(rows)) == records(old, lambda m: m.emit(rows))


def test_a_logger_attribute_on_self_with_format_is_guarded_and_logging_imported():
    source = '''
    """Workers."""
    import collections


    class Worker:
        def __init__(self, log):
            self.log = log

        def run(self, jobs):
            done = collections.Counter()
            for job in jobs:
                self.log.info("job {} done".format(job))
                done[job] += 1
            return done
    '''
    result = apply("logging-sampling", source, "Worker.run")
    new = result.new_source
    assert new.startswith('"""Workers."""\nimport collections\nimport logging\n')
    assert (
        "            if self.log.isEnabledFor(logging.INFO):\n"
        '                self.log.info("job {} done".format(job))\n'
    ) in new
    module = load(new)
    worker = module.Worker(logging.getLogger("pkg.mod"))
    assert records(module, lambda m: worker.run(["a", "b"]), level=logging.INFO) == [
        "job a done",
        "job b done",
    ]


def test_percent_tuple_becomes_lazy_and_a_hint_can_ask_for_a_guard():
    source = """
    from logging import getLogger

    logger = getLogger("pkg.mod")


    def f(xs):
        for x in xs:
            logger.debug("x=%s y=%d" % (x, len(xs)))
            logger.debug("x=%s" % (x,))
    """
    default = apply("logging-sampling", source, "f")
    # len() is a call, so that one is guarded; the cheap one becomes lazy.
    assert "if logger.isEnabledFor(logging.DEBUG):" in default.new_source
    assert 'logger.debug("x=%s", x)' in default.new_source
    guarded = apply("logging-sampling", source, "f", hint="please guard it with isEnabledFor")
    assert "import logging\n" in guarded.new_source
    assert guarded.new_source.count("if logger.isEnabledFor(logging.DEBUG):") == 2


def test_cheap_percent_tuple_is_passed_lazily():
    source = """
    import logging

    log = logging.getLogger("pkg.mod")


    def f(xs, name):
        for x in xs:
            log.debug("%s: x=%s" % (name, x))
    """
    result = apply("logging-sampling", source, "f")
    assert 'log.debug("%s: x=%s", name, x)' in result.new_source
    old, new = load(dedent(source)), load(result.new_source)
    assert records(new, lambda m: m.f([1, 2], "n")) == records(old, lambda m: m.f([1, 2], "n"))


def test_already_lazy_logging_is_refused():
    source = """
    import logging

    log = logging.getLogger(__name__)


    def f(xs):
        for x in xs:
            log.debug("x=%r", x)
    """
    with pytest.raises(CodemodRefused, match="no logger"):
        apply("logging-sampling", source, "f")


def test_a_log_call_inside_an_expression_cannot_be_guarded():
    source = """
    import logging

    log = logging.getLogger(__name__)


    def f(xs):
        return [log.debug(f"{x:>10}") for x in xs]
    """
    with pytest.raises(CodemodRefused, match="not a statement of its own"):
        apply("logging-sampling", source, "f")


def test_debug_prints_go_to_a_new_module_logger_and_program_output_stays():
    source = '''
    """Doc."""
    import sys


    def total(rows):
        result = 0
        for row in rows:
            result += row
            print(f"debug: row={row!r} total={result}")
            print("row", row, len(rows), file=sys.stderr)
        print("result", result)
        return result
    '''
    converted = apply("logging-sampling", source, "total")
    new = converted.new_source
    assert new.startswith(
        '"""Doc."""\nimport logging\nimport sys\n\nlog = logging.getLogger(__name__)\n\n\ndef'
    )
    assert (
        "        if log.isEnabledFor(logging.DEBUG):\n"
        '            log.debug("%s", f"debug: row={row!r} total={result}")\n'
    ) in new
    assert (
        "        if log.isEnabledFor(logging.DEBUG):\n"
        '            log.debug("%s %s %s", "row", row, len(rows))\n'
    ) in new
    assert '    print("result", result)\n' in new
    assert "behaviour change" in converted.summary
    module = load(new)
    assert records(module, lambda m: m.total([1, 2])) == [
        "debug: row=1 total=1",
        "row 1 2",
        "debug: row=2 total=3",
        "row 2 2",
    ]


def test_program_output_prints_are_refused():
    source = """
    def report(rows):
        for row in rows:
            print("row", row)
    """
    with pytest.raises(CodemodRefused, match="program output"):
        apply("logging-sampling", source, "report")


def test_plain_placeholders_are_guarded_so_custom_formats_stay_exact():
    source = """
    import enum
    import logging

    log = logging.getLogger("pkg.mod")


    class Color(enum.IntEnum):
        RED = 1


    def paint(items):
        for item in items:
            log.debug(f"painting {item} in {Color.RED}")
    """
    result = apply("logging-sampling", source, "paint")
    assert "        if log.isEnabledFor(logging.DEBUG):\n" in result.new_source
    old, new = load(dedent(source)), load(result.new_source)
    expected = records(old, lambda m: m.paint(["a"]))
    assert expected == ["painting a in 1"]
    assert records(new, lambda m: m.paint(["a"])) == expected
