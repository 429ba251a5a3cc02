"""logging-sampling: expensive debug logging in a hot path -> lazy arguments or a level guard.

An f-string, `%` or `.format()` message is built before `logger.debug` even looks at the level, so
a disabled DEBUG still pays for every repr. Passing the values as arguments lets logging format
only when a handler will emit the record; when the arguments themselves cost something (calls),
the statement is guarded with `if logger.isEnabledFor(logging.DEBUG):` instead. Either way the
record is logged exactly as before when DEBUG is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from skills.codemods._cst import (
    Parsed,
    code,
    finish,
    is_string_literal,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.edits import (
    ensure_module_alias,
    import_insert_index,
    insert_module_statements,
    unique_name,
)

LEVELS = {"debug": "DEBUG", "info": "INFO"}
_LOGGER_NAME = re.compile(r"(?i)^_*(\w*_)?(log|logger)$")
# A format spec that means the same to str.format and to %-formatting (for floats/ints).
_PRINTF_SAFE_SPEC = re.compile(r"^([+ ])?(0)?(\d+)?(\.\d+)?[eEfFgG]$")
_CHEAP = (cst.Name, cst.Attribute, cst.Subscript, cst.SimpleString, cst.Integer, cst.Float)


class _NotLazy(Exception):
    pass


@dataclass
class _Changes:
    """What one pass over the function found to change, and what it left alone."""

    logging_alias: str | None
    module_logger: str
    new_logger: str = ""
    needs_logging_alias: bool = False
    statement_swaps: dict = field(default_factory=dict)  # statement -> (receiver, LEVEL) or test
    call_swaps: dict = field(default_factory=dict)  # call -> its replacement
    changed_lines: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    print_notes: list[str] = field(default_factory=list)


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    prefer_guard = bool(re.search(r"(?i)guard|isenabledfor", data.hint))
    changes = _Changes(
        logging_alias=parsed.module_import("logging"), module_logger=_module_logger(parsed)
    )
    for node in walk(func.body):
        if not isinstance(node, cst.Call):
            continue
        if "builtins.print" in parsed.qualified_names(node.func):
            _plan_print(parsed, node, data.hint, changes)
        else:
            _plan_logging_call(parsed, node, prefer_guard, changes)

    if changes.print_notes:
        changes.notes.append(
            f"print at {', '.join(changes.print_notes)} now goes to the logger "
            f"{changes.module_logger} at DEBUG (it wrote to stdout on every call; the output now "
            "appears only where DEBUG logging is configured: a visible behaviour change for the "
            "reviewer to accept)"
        )
    if not changes.call_swaps and not changes.statement_swaps:
        reason = "; ".join(changes.refusals) or (
            f"{func.name.value} has no logger.debug/info call that formats its message eagerly"
        )
        raise CodemodRefused(reason)

    module = _rewritten_module(parsed, func, changes)
    first = min(a for a, _ in changes.changed_lines)
    last = max(b for _, b in changes.changed_lines)
    summary = (
        f"{func.name.value}: " + "; ".join(changes.notes) + ". With DEBUG off (production), the "
        "message is no longer built (f-string formatting and repr of the record) on every call; "
        "with DEBUG on, the same record is logged with the same text."
    )
    if changes.refusals:
        summary += " Left alone: " + "; ".join(changes.refusals) + "."
    return finish(data, module, summary, first, last)


def _plan_print(parsed: Parsed, node: cst.Call, hint: str, changes: _Changes) -> None:
    """A debug print becomes logger.debug (guarded when its arguments cost something)."""
    line = parsed.line(node)
    problem = _print_problem(parsed, node, hint)
    statement = _sole_statement(parsed, node)
    if not problem and statement is None:
        problem = "it is not a statement of its own"
    if problem:
        changes.refusals.append(f"line {line}: print left alone ({problem})")
        return
    if not changes.module_logger:
        changes.new_logger = unique_name("log", parsed.all_names())
        changes.module_logger = changes.new_logger
    replacement = _print_to_debug(node, changes.module_logger)
    changes.call_swaps[node] = replacement
    changes.needs_logging_alias = changes.needs_logging_alias or bool(changes.new_logger)
    if not all(_is_cheap(arg.value) for arg in replacement.args[1:]):
        changes.statement_swaps[statement] = (changes.module_logger, "DEBUG")
        changes.needs_logging_alias = True
    changes.changed_lines.append((line, parsed.end_line(node)))
    changes.print_notes.append(f"line {line}")


def _plan_logging_call(
    parsed: Parsed, node: cst.Call, prefer_guard: bool, changes: _Changes
) -> None:
    """A debug/info call: lazy %-arguments when they are cheap, else a level guard."""
    found = _logging_call(parsed, node)
    if found is None:
        return
    receiver, level = found
    line = parsed.line(node)
    message = node.args[0].value if node.args and node.args[0].keyword is None else None
    if message is None:
        return
    lazy = None
    if not prefer_guard:
        try:
            lazy = _lazy_call(node)
        except _NotLazy:
            lazy = None
    if lazy is not None and all(_is_cheap(arg.value) for arg in lazy.args[1:]):
        changes.call_swaps[node] = lazy
        changes.changed_lines.append((line, parsed.end_line(node)))
        changes.notes.append(f"line {line}: the message is formatted lazily by logging")
        return
    if not _is_expensive(node):
        return
    statement = _sole_statement(parsed, node)
    if statement is None:
        changes.refusals.append(
            f"line {line}: the call is not a statement of its own, cannot guard it"
        )
        return
    changes.needs_logging_alias = True
    changes.statement_swaps[statement] = (receiver, level)
    changes.changed_lines.append((line, parsed.end_line(node)))
    changes.notes.append(f"line {line}: guarded with isEnabledFor({level})")


def _rewritten_module(parsed: Parsed, func: cst.FunctionDef, changes: _Changes) -> cst.Module:
    """Apply the swaps and guards; import logging and define a module logger when needed."""
    module = parsed.module
    logging_alias = changes.logging_alias
    statement_swaps = changes.statement_swaps
    if changes.needs_logging_alias:
        if logging_alias is None:
            module, logging_alias = ensure_module_alias(parsed, module, "logging")
        statement_swaps = {
            statement: cst.parse_expression(
                f"{receiver}.isEnabledFor({logging_alias}.{level})"
                if receiver
                else f"{logging_alias}.getLogger().isEnabledFor({logging_alias}.{level})"
            )
            for statement, (receiver, level) in statement_swaps.items()
        }
    new_func = func.visit(_Swap(changes.call_swaps, statement_swaps))
    module = module.deep_replace(func, new_func)
    if changes.new_logger:
        index = import_insert_index(module)
        statement = cst.parse_statement(
            f"{changes.new_logger} = {logging_alias}.getLogger(__name__)\n"
        )
        module = insert_module_statements(module, index, [statement])
        if index > 0:  # one blank line under the imports, not two
            body = list(module.body)
            body[index] = body[index].with_changes(leading_lines=[cst.EmptyLine()])
            module = module.with_changes(body=body)
    return module


_DEBUG_WORDS = re.compile(r"(?i)\b(debug|dbg|trace|tracing)\b")


def _module_logger(parsed: Parsed) -> str:
    """The name of a module-level `x = logging.getLogger(...)`, or ''."""
    for statement in parsed.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        small = statement.body[0]
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Call)
            and "logging.getLogger" in parsed.qualified_names(small.value.func)
        ):
            return small.targets[0].target.value
    return ""


def _print_problem(parsed: Parsed, call: cst.Call, hint: str) -> str:
    """Why this print is not (provably) debug output, or ''."""
    to_stderr = False
    for arg in call.args:
        if arg.star:
            return "it prints *args"
        if arg.keyword is None:
            continue
        keyword = arg.keyword.value
        if keyword == "file":
            target = parsed.qualified_names(arg.value)
            if "sys.stderr" in target:
                to_stderr = True
            elif "sys.stdout" not in target:
                return "it writes to a file"
        elif keyword in ("sep", "end"):
            return f"it sets {keyword}="
        elif keyword != "flush":
            return f"unknown argument {keyword}="
    positional = [a.value for a in call.args if a.keyword is None]
    if not positional:
        return "it prints an empty line"
    first = positional[0]
    text = code(first) if isinstance(first, cst.BaseString) else ""
    if to_stderr or _DEBUG_WORDS.search(text) or re.search(r"(?i)\bprint\b", hint):
        return ""
    return "it looks like program output, not debug output; name it in the hint to convert it"


def _print_to_debug(call: cst.Call, logger: str) -> cst.Call:
    positional = [a.value for a in call.args if a.keyword is None]
    func = cst.Attribute(value=cst.Name(logger), attr=cst.Name("debug"))
    if len(positional) == 1:
        try:
            values: list[cst.BaseExpression] = []
            message = _convert(positional[0], values)
            if values:
                return cst.Call(func=func, args=[cst.Arg(message), *map(cst.Arg, values)])
        except _NotLazy:
            pass
    message = cst.SimpleString('"' + " ".join(["%s"] * len(positional)) + '"')
    return cst.Call(func=func, args=[cst.Arg(message), *map(cst.Arg, positional)])


def _logging_call(parsed: Parsed, call: cst.Call) -> tuple[str, str] | None:
    """(receiver code or "" for the logging module's functions, LEVEL) for a debug/info call."""
    qualified = parsed.qualified_names(call.func)
    for name in qualified:
        module, _, attr = name.rpartition(".")
        if module == "logging" and attr in LEVELS:
            if isinstance(call.func, cst.Attribute):
                alias = code(call.func.value)
                return f"{alias}.getLogger()", LEVELS[attr]
            return "", LEVELS[attr]
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in LEVELS:
        return None
    receiver = call.func.value
    level = LEVELS[call.func.attr.value]
    if isinstance(receiver, cst.Call):
        if any(q.endswith("logging.getLogger") for q in parsed.qualified_names(receiver.func)):
            return code(receiver), level
        return None
    if isinstance(receiver, cst.Attribute) and _LOGGER_NAME.match(receiver.attr.value):
        return code(receiver), level
    if isinstance(receiver, cst.Name):
        if _LOGGER_NAME.match(receiver.value):
            return receiver.value, level
        scope = parsed.scope(receiver)
        for assignment in scope[receiver.value] if scope is not None else ():
            node = getattr(assignment, "node", None)
            parent = parsed.parent(node) if node is not None else None
            assign = parsed.parent(parent) if isinstance(parent, cst.AssignTarget) else None
            if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call):
                names = parsed.qualified_names(assign.value.func)
                if any(q in ("logging.getLogger", "logging.Logger") for q in names):
                    return receiver.value, level
    return None


def _lazy_call(call: cst.Call) -> cst.Call | None:
    """The call with its message turned into a %-format string and lazy args, or None."""
    first = call.args[0]
    rest = list(call.args[1:])
    message = first.value
    positional_rest = [a for a in rest if a.keyword is None]
    if isinstance(message, cst.FormattedString | cst.ConcatenatedString) and not is_string_literal(
        message
    ):
        if positional_rest:
            raise _NotLazy  # mixing an f-string with %-args: leave it to the guard
        args: list[cst.BaseExpression] = []
        new_message = _convert(message, args)
        if not args:
            raise _NotLazy
    elif (
        isinstance(message, cst.BinaryOperation)
        and isinstance(message.operator, cst.Modulo)
        and is_string_literal(message.left)
        and isinstance(message.right, cst.Tuple)
        and not positional_rest
    ):
        if any(isinstance(e, cst.StarredElement) for e in message.right.elements):
            raise _NotLazy
        new_message = message.left
        args = [e.value for e in message.right.elements]
    else:
        raise _NotLazy
    new_args = [first.with_changes(value=new_message, comma=cst.MaybeSentinel.DEFAULT)]
    new_args += [cst.Arg(value=value) for value in args]
    return call.with_changes(args=new_args + rest)


def _convert(node: cst.BaseExpression, args: list[cst.BaseExpression]) -> cst.BaseExpression:
    if isinstance(node, cst.SimpleString):
        if "b" in node.prefix.lower():
            raise _NotLazy
        return node.with_changes(value=node.value.replace("%", "%%"))
    if isinstance(node, cst.ConcatenatedString):
        return node.with_changes(left=_convert(node.left, args), right=_convert(node.right, args))
    if isinstance(node, cst.FormattedString):
        text = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text.append(part.value.replace("{{", "{").replace("}}", "}").replace("%", "%%"))
                continue
            if part.equal is not None:
                raise _NotLazy
            spec = ""
            if part.format_spec is not None:
                if not all(isinstance(p, cst.FormattedStringText) for p in part.format_spec):
                    raise _NotLazy
                spec = "".join(p.value for p in part.format_spec)
            if part.conversion and spec:
                raise _NotLazy
            if part.conversion:
                text.append("%" + part.conversion)
            elif not spec:
                # `{x}` is format(x), which differs from %s's str(x) for types with their own
                # __format__ (IntEnum, custom classes): guard instead of guessing.
                raise _NotLazy
            elif _PRINTF_SAFE_SPEC.match(spec):
                text.append("%" + spec)
            else:
                raise _NotLazy
            args.append(part.expression)
        prefix = node.start.replace("f", "").replace("F", "")
        return cst.SimpleString(
            value=prefix + "".join(text) + node.end, lpar=node.lpar, rpar=node.rpar
        )
    raise _NotLazy


def _is_cheap(node: cst.BaseExpression) -> bool:
    """Evaluating it costs about as much as a dict lookup: names, attributes, subscripts."""
    return all(
        isinstance(inner, _CHEAP) or not isinstance(inner, cst.BaseExpression)
        for inner in walk(node)
    )


def _is_expensive(call: cst.Call) -> bool:
    """The call's arguments format or compute something before logging sees the level."""
    for arg in call.args:
        for inner in walk(arg.value):
            if isinstance(inner, cst.FormattedString | cst.Call):
                return True
            if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Modulo):
                return True
    return False


def _sole_statement(parsed: Parsed, call: cst.Call) -> cst.SimpleStatementLine | None:
    expr = parsed.parent(call)
    if not isinstance(expr, cst.Expr):
        return None
    line = parsed.parent(expr)
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        return line
    return None


class _Swap(cst.CSTTransformer):
    def __init__(self, calls: dict, statements: dict) -> None:
        self.calls = calls
        self.statements = statements

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        return self.calls.get(original_node, updated_node)

    def leave_SimpleStatementLine(self, original_node, updated_node):
        test = self.statements.get(original_node)
        if test is None:
            return updated_node
        return cst.If(
            test=test,
            body=cst.IndentedBlock(body=[updated_node.with_changes(leading_lines=[])]),
            leading_lines=updated_node.leading_lines,
        )
