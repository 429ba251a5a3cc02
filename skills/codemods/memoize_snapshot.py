"""memoize, the snapshot-and-copy form: for a function that returns a fresh dict, list or set.

A cached container would be shared by every caller, so one caller's change would reach the next.
Instead the cache holds an immutable snapshot (a tuple of the dict's items, of the list's or the
set's elements, in a private `_<name>_snapshot` function that keeps the original body) and the
function, under its own name and signature, returns a shallow copy made from it: each caller still
gets a container of its own, equal to the one the original built.
"""

from __future__ import annotations

import libcst as cst

from skills.codemods._cst import Parsed, Target, code
from skills.codemods.edits import insert_module_statements, unique_name
from skills.codemods.memoize_arguments import own_nodes

# kind -> (what the cache keeps, made from the fresh value; the copy handed out, from the snapshot;
# the snapshot in words)
SNAPSHOT = {
    "dict": ("tuple({}.items())", "dict({})", "a tuple of its items"),
    "list": ("tuple({})", "list({})", "a tuple of its elements"),
    "set": ("frozenset({})", "set({})", "a frozenset of its elements"),
}


def snapshot_and_copy(
    parsed: Parsed, module: cst.Module, target: Target, kind: str, decorator: cst.Decorator
) -> tuple[cst.Module, str]:
    """(module with the wrapper and the cached snapshot function, the snapshot's name)."""
    func = target.func
    name = func.name.value
    snapshot_name = unique_name(f"_{name.lstrip('_')}_snapshot", parsed.all_names())
    keep, copy, _ = SNAPSHOT[kind]
    returns = {
        node: node.with_changes(
            value=cst.parse_expression(keep.format(code(node.value.with_changes(lpar=[], rpar=[]))))
        )
        for node in own_nodes(func)
        if isinstance(node, cst.Return) and node.value is not None
    }
    body = func.body.visit(_Returns(returns))
    docstring = _docstring(func)
    if docstring is not None:
        body = body.with_changes(body=body.body[1:])
    snapshot = func.with_changes(
        name=cst.Name(snapshot_name),
        decorators=[decorator],
        body=body,
        returns=None,  # it returns the snapshot, not the annotated container
        leading_lines=[],
    )
    call = f"{snapshot_name}({_forwarded(func.params)})"
    wrapper_body = [cst.parse_statement(f"return {copy.format(call)}\n")]
    if docstring is not None:
        wrapper_body.insert(0, docstring)
    wrapper = func.with_changes(body=func.body.with_changes(body=wrapper_body))
    module = module.deep_replace(func, wrapper)
    index = list(module.body).index(wrapper) + 1
    return insert_module_statements(module, index, [snapshot]), snapshot_name


def _docstring(func: cst.FunctionDef) -> cst.BaseStatement | None:
    first = func.body.body[0] if isinstance(func.body, cst.IndentedBlock) else None
    if func.get_docstring() is not None and isinstance(first, cst.SimpleStatementLine):
        return first
    return None


def _forwarded(params: cst.Parameters) -> str:
    """The call arguments that pass every parameter on as it came."""
    parts = [p.name.value for p in [*params.posonly_params, *params.params]]
    if isinstance(params.star_arg, cst.Param):
        parts.append(f"*{params.star_arg.name.value}")
    parts += [f"{p.name.value}={p.name.value}" for p in params.kwonly_params]
    if isinstance(params.star_kwarg, cst.Param):
        parts.append(f"**{params.star_kwarg.name.value}")
    return ", ".join(parts)


class _Returns(cst.CSTTransformer):
    def __init__(self, returns: dict) -> None:
        self.returns = returns

    def leave_Return(self, original_node, updated_node):
        return self.returns.get(original_node, updated_node)
