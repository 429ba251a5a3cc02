"""precompile-regex: `re.<fn>(CONSTANT, ...)` in a hot function -> a module-level compiled pattern.

`re.<fn>` looks the pattern up in re's internal cache on every call (hashing the pattern text and
the flags, which are an enum whose `|` is itself a Python-level call); a compiled pattern object
skips all of that. The pattern and flags must be constants: otherwise compiling once is wrong.
"""

from __future__ import annotations

import re as re_module

import libcst as cst
from libcst.metadata import PositionProvider

from skills.codemods._cst import (
    Parsed,
    Target,
    code,
    finish,
    walk,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult
from skills.codemods.constants import Constants, NotConstant
from skills.codemods.edits import ensure_module_alias, insert_module_statements, unique_name

# Parameters of the module-level functions; a compiled pattern's method takes the same list minus
# `pattern` and `flags` (flags go to re.compile).
SIGNATURES = {
    "match": ("pattern", "string", "flags"),
    "search": ("pattern", "string", "flags"),
    "fullmatch": ("pattern", "string", "flags"),
    "findall": ("pattern", "string", "flags"),
    "finditer": ("pattern", "string", "flags"),
    "split": ("pattern", "string", "maxsplit", "flags"),
    "sub": ("pattern", "repl", "string", "count", "flags"),
    "subn": ("pattern", "repl", "string", "count", "flags"),
    # re.compile(CONSTANT) inside the function: the call becomes the module-level pattern itself.
    "compile": ("pattern", "flags"),
}
LINE_LENGTH = 100


class _Site:
    def __init__(self, call: cst.Call, method: str, pattern, flags, rest: list[cst.Arg]):
        self.call = call
        self.method = method
        self.pattern = pattern
        self.flags = flags
        self.rest = rest
        # The pattern as module-level code: `self.PATTERN` is read as `Class.PATTERN` there.
        self.pattern_code = code(pattern)


def apply(data: CodemodInput) -> CodemodResult:
    parsed = Parsed(data.source, data.path)
    target = parsed.find_target(data.qualname)
    func = target.func
    bindings = parsed.top_level_bindings()
    constants = Constants(parsed, data, target)
    sites, refusals = _find_sites(parsed, target, bindings, constants)
    module, re_alias = _compile_name(parsed, parsed.module)
    compiled, new_statements, referenced = _compiled_constants(parsed, func, sites, re_alias)
    replacements = {site.call: _method_call(parsed, site, compiled[_key(site)]) for site in sites}

    # Before the function, but after any module constant the pattern or flags use.
    index = target.top_index
    for name in referenced:
        for stmt in bindings.get(name, []):
            position = list(parsed.module.body).index(stmt)
            index = max(index, position + 1)
    kept = {site.call: [list(site.call.args).index(arg) for arg in site.rest] for site in sites}
    new_func = func.visit(_Replace(replacements, kept))
    module = module.deep_replace(func, new_func)
    offset = len(module.body) - len(parsed.module.body)  # an added `import re` shifts indexes
    module = insert_module_statements(module, index + offset, new_statements)

    first = min(parsed.line(s.call) for s in sites)
    last = max(parsed.end_line(s.call) for s in sites)
    described = ", ".join(
        f"re.{s.method} at line {parsed.line(s.call)} -> {compiled[_key(s)]}"
        + ("" if s.method == "compile" else f".{s.method}")
        for s in sites
    )
    summary = (
        f"{func.name.value}: {described}. The pattern"
        f"{'s are' if len(compiled) > 1 else ' is'} compiled once at import "
        f"({', '.join(compiled.values())}) instead of being looked up in re's pattern cache on "
        "every call, which hashes the pattern text and combines the flags each time."
    )
    if refusals:
        summary += " Left alone: " + "; ".join(refusals) + "."
    return finish(data, module, summary, first, last)


def _find_sites(
    parsed: Parsed, target: Target, bindings, constants: Constants
) -> tuple[list[_Site], list[str]]:
    """The re calls with a constant pattern, and why the others were left alone."""
    func = target.func
    global_names = _names_declared_global(parsed.module)
    sites: list[_Site] = []
    refusals: list[str] = []
    for node in walk(func.body):
        if not isinstance(node, cst.Call):
            continue
        method = _re_function(parsed, node)
        if method is None:
            continue
        try:
            site = _analyse(parsed, node, method, bindings, global_names)
            _check_pattern(parsed, site, target, constants)
            sites.append(site)
        except CodemodRefused as exc:
            refusals.append(f"line {parsed.line(node)}: {exc}")
    if not sites:
        if refusals:
            raise CodemodRefused("; ".join(refusals))
        raise CodemodRefused(
            f"{func.name.value} has no re.match/search/sub/... call with a constant pattern"
        )
    return sites, refusals


def _compiled_constants(
    parsed: Parsed, func: cst.FunctionDef, sites: list[_Site], re_alias: str
) -> tuple[dict[tuple[str, str], str], list[cst.BaseStatement], set[str]]:
    """(pattern and flags -> constant name, the compile statements, module names they read)."""
    taken = parsed.all_names()
    constants: dict[tuple[str, str], str] = {}
    new_statements: list[cst.BaseStatement] = []
    referenced: set[str] = set()
    base = func.name.value.lstrip("_").upper()
    for site in sites:
        key = _key(site)
        if key in constants:
            continue
        stem = base
        if isinstance(site.pattern, cst.Name | cst.Attribute):
            named = site.pattern if isinstance(site.pattern, cst.Name) else site.pattern.attr
            stem = named.value.lstrip("_").upper()
        name = unique_name(f"_{stem}_RE", taken)
        taken.add(name)
        constants[key] = name
        new_statements.append(_compile_statement(name, re_alias, *key))
        pattern_names = walk(cst.parse_expression(site.pattern_code))
        referenced |= {n.value for n in pattern_names if isinstance(n, cst.Name)}
        if site.flags is not None:
            referenced |= {n.value for n in walk(site.flags) if isinstance(n, cst.Name)}
    return constants, new_statements, referenced


def _key(site: _Site) -> tuple[str, str]:
    return (site.pattern_code, code(site.flags) if site.flags is not None else "")


def _re_function(parsed: Parsed, call: cst.Call) -> str | None:
    for qualified in parsed.qualified_names(call.func):
        module, _, attr = qualified.rpartition(".")
        if module == "re" and attr in SIGNATURES:
            return attr
    return None


def _names_declared_global(module: cst.Module) -> set[str]:
    names: set[str] = set()
    for node in walk(module):
        if isinstance(node, cst.Global):
            names.update(item.name.value for item in node.names)
    return names


def _is_module_constant(
    parsed: Parsed, node: cst.Name, bindings, global_names: set[str], check
) -> bool:
    """A module-level name bound exactly once, to a value `check` accepts, never reassigned."""
    if node.value in global_names:
        return False
    scope = parsed.scope(node)
    if scope is None:
        return False
    assignments = list(scope[node.value])
    if not assignments or any(a.scope is not parsed.scope(parsed.module) for a in assignments):
        return False
    statements = bindings.get(node.value, [])
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return False
    small = statements[0].body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        return isinstance(small.targets[0].target, cst.Name) and check(small.value)
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        return check(small.value)
    return False


def _analyse(parsed: Parsed, call: cst.Call, method: str, bindings, global_names) -> _Site:
    params = SIGNATURES[method]
    assigned: dict[str, cst.Arg] = {}
    positional = 0
    for arg in call.args:
        if arg.star:
            raise CodemodRefused(f"re.{method} is called with *args/**kwargs")
        if arg.keyword is None:
            if positional >= len(params):
                raise CodemodRefused(f"re.{method} has too many arguments")
            assigned[params[positional]] = arg
            positional += 1
        else:
            assigned[arg.keyword.value] = arg
    pattern_arg = assigned.get("pattern")
    if pattern_arg is None:
        raise CodemodRefused(f"re.{method} has no pattern argument")
    pattern = pattern_arg.value
    flags_arg = assigned.get("flags")
    flags = flags_arg.value if flags_arg is not None else None
    if flags is not None and not _constant_flags(parsed, flags, bindings, global_names):
        raise CodemodRefused(f"the flags {code(flags)!r} of re.{method} are not constant")
    rest = [
        arg
        for name, arg in sorted(assigned.items(), key=lambda kv: list(call.args).index(kv[1]))
        if name not in ("pattern", "flags")
    ]
    return _Site(call, method, pattern, flags, rest)


def _check_pattern(parsed: Parsed, site: _Site, target: Target, constants: Constants) -> None:
    """The pattern must be a constant, written as module-level code, that compiles."""
    pattern = site.pattern
    try:
        text = constants.value(pattern)
        if not isinstance(text, str | bytes):
            raise NotConstant(f"{code(pattern)} is not a string")
    except NotConstant as exc:
        raise CodemodRefused(
            f"the pattern {code(pattern)!r} of re.{site.method} is not a constant ({exc}), so it "
            "cannot be compiled once at import"
        ) from None
    attributes = [n for n in walk(pattern) if isinstance(n, cst.Attribute)]
    if attributes:
        cls = target.cls
        if not isinstance(pattern, cst.Attribute) or cls is None or cls is not target.top_stmt:
            raise CodemodRefused(
                f"the pattern {code(pattern)!r} of re.{site.method} reads a class attribute in an "
                "expression; left alone"
            )
        site.pattern_code = f"{cls.name.value}.{pattern.attr.value}"
    _check_compiles(parsed, text, site.flags)


def _check_compiles(parsed: Parsed, text: str | bytes, flags) -> None:
    """A pattern that does not compile would now fail at import, not inside the function."""
    try:
        value = 0
        if flags is not None:
            namespace = {
                name: getattr(re_module, name) for name in dir(re_module) if name.isupper()
            }
            alias = parsed.module_import("re")
            if alias:
                namespace[alias] = re_module
            # Only flag names (`re.I`, `IGNORECASE`), ints and operators reach eval: no calls and
            # no dunder attributes, whatever the repository's code says.
            for token in re_module.findall(r"[A-Za-z_][\w.]*", code(flags)):
                head, _, attr = token.rpartition(".")
                if (head and head != alias) or not (attr or head).isupper():
                    raise ValueError(token)  # not evaluated: checked below
            value = eval(compile(code(flags), "<flags>", "eval"), {"__builtins__": {}}, namespace)  # noqa: S307
    except Exception:
        value = None  # flags from module constants: check the pattern under both readings
    try:
        if value is None:
            try:
                re_module.compile(text)
            except re_module.error:
                re_module.compile(text, re_module.VERBOSE)
        else:
            re_module.compile(text, value)
    except re_module.error as exc:
        raise CodemodRefused(
            f"the pattern does not compile ({exc}); compiling it at import would break the module"
        ) from None


def _constant_flags(parsed: Parsed, node: cst.BaseExpression, bindings, global_names) -> bool:
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(
        node.operator, cst.BitOr | cst.Add | cst.BitAnd
    ):
        return _constant_flags(parsed, node.left, bindings, global_names) and _constant_flags(
            parsed, node.right, bindings, global_names
        )
    if isinstance(node, cst.Attribute | cst.Name):
        if any(
            q.startswith("re.") and q.rpartition(".")[2].isupper()
            for q in parsed.qualified_names(node)
        ):
            return True
        if isinstance(node, cst.Name):
            return _is_module_constant(
                parsed,
                node,
                bindings,
                global_names,
                lambda value: _constant_flags(parsed, value, bindings, global_names),
            )
    return False


def _compile_name(parsed: Parsed, module: cst.Module) -> tuple[cst.Module, str]:
    alias = parsed.module_import("re")
    if alias is not None:
        return module, f"{alias}.compile"
    from_alias = parsed.from_import("re", "compile")
    if from_alias is not None:
        return module, from_alias
    module, alias = ensure_module_alias(parsed, module, "re")
    return module, f"{alias}.compile"


def _compile_statement(
    name: str, compile_func: str, pattern_code: str, flags_code: str
) -> cst.BaseStatement:
    arguments = [pattern_code] + ([flags_code] if flags_code else [])
    one_line = f"{name} = {compile_func}({', '.join(arguments)})"
    if "\n" not in one_line and len(one_line) <= LINE_LENGTH:
        text = one_line
    else:
        # Exploded, one argument per line; a triple-quoted pattern keeps its exact text.
        lines = [f"{name} = {compile_func}("] + [f"    {a}," for a in arguments] + [")"]
        text = "\n".join(lines)
    return cst.parse_statement(text + "\n")


def _method_call(parsed: Parsed, site: _Site, constant: str) -> cst.BaseExpression:
    if site.method == "compile":
        return cst.Name(constant)
    func = cst.Attribute(value=cst.Name(constant), attr=cst.Name(site.method))
    rest = list(site.rest)
    if rest:
        last = rest[-1]
        if "\n" not in code(site.call):
            rest[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    call = site.call.with_changes(func=func, args=rest)
    if "\n" in code(site.call) and all("\n" not in code(a.value) for a in rest):
        # The removed pattern was usually what made the call span lines: fold it back when the
        # result fits on the original line.
        compact = cst.Call(
            func=func,
            args=[
                arg.with_changes(
                    comma=cst.MaybeSentinel.DEFAULT,
                    whitespace_after_arg=cst.SimpleWhitespace(""),
                )
                for arg in rest
            ],
        )
        column = parsed.column(site.call)
        end = parsed.end_line(site.call)
        tail = parsed.source.splitlines()[end - 1]
        end_column = _end_column(parsed, site.call)
        rest_of_line = tail[end_column:]
        if column + len(code(compact)) + len(rest_of_line) <= LINE_LENGTH:
            call = compact
    return call


def _end_column(parsed: Parsed, node: cst.CSTNode) -> int:
    return parsed.meta(PositionProvider, node).end.column


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[cst.Call, cst.Call], kept: dict) -> None:
        self.replacements = replacements
        self.kept = kept

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        new = self.replacements.get(original_node)
        if new is None:
            return updated_node
        if isinstance(new, cst.Name):  # re.compile(...) -> the compiled constant
            return new
        # Arguments may hold another rewritten call (re.sub(p, r, re.sub(q, r2, s))): take the
        # updated argument values.
        args = [
            arg.with_changes(value=updated_node.args[index].value)
            for arg, index in zip(new.args, self.kept[original_node], strict=True)
        ]
        return new.with_changes(args=args)
