"""Offline codemods: LibCST transformers, one per skill slug, that never emit a wrong patch.

Each codemod takes a CodemodInput (a file's source and the function to fix) and returns a
CodemodResult (the new source, a concrete summary and the touched line range), or raises
CodemodRefused with a concrete reason when the fix is not applicable or not provably safe.
"""

from __future__ import annotations

from collections.abc import Callable

from skills.codemods import (
    genexp_map,
    hoist,
    inline_helper,
    logging_sampling,
    lookup_guard,
    membership,
    memoize,
    regex,
    revert,
    string_join,
)
from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult

Codemod = Callable[[CodemodInput], CodemodResult]

REGISTRY: dict[str, Codemod] = {
    "logging-sampling": logging_sampling.apply,
    "memoize": memoize.apply,
    "precompile-regex": regex.apply,
    "hoist-loop-invariant": hoist.apply,
    "membership-set": membership.apply,
    "string-join": string_join.apply,
    "revert-hunk": revert.apply,
    "guard-dict-lookup": lookup_guard.apply,
    "map-over-generator": genexp_map.apply,
    "inline-trivial-helper": inline_helper.apply,
}


def run_codemod(name: str, data: CodemodInput) -> CodemodResult:
    """Run the named codemod; KeyError for an unknown name, CodemodRefused when not applicable."""
    codemod = REGISTRY[name]
    result = codemod(data)
    if result.new_source == data.source:
        raise CodemodRefused(f"{name} found nothing to change in {data.qualname}")
    return result


__all__ = ["REGISTRY", "CodemodInput", "CodemodRefused", "CodemodResult", "run_codemod"]
