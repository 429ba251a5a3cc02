"""Placeholder: filled in shortly."""

from __future__ import annotations

from skills.codemods.base import CodemodInput, CodemodRefused, CodemodResult


def apply(data: CodemodInput) -> CodemodResult:
    raise CodemodRefused("this codemod is not implemented yet")
