"""The diff viewer's size guards, read from settings each time a diff is rendered.

Past them a diff, a file or a file's highlighting is refused, described or shown plain: lexing a
huge generated file would stall the page for everyone else's review, and a reviewer should not
approve what the page could not show. console/settings.py documents each WATTSON_DIFF_* value.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class DiffLimits:
    diff_max_bytes: int  # a bigger diff is not parsed
    page_max_lines: int  # past this many diff lines in a change, further files are described
    file_max_lines: int  # a file with more diff lines is described, not rendered
    collapse_lines: int  # a file with more diff lines starts collapsed
    highlight_max_bytes: int  # a larger file (or hunk text) is shown without highlighting
    highlight_max_lines: int  # so is a file with more diff lines than this

    @classmethod
    def current(cls) -> DiffLimits:
        return cls(
            diff_max_bytes=settings.WATTSON_DIFF_MAX_BYTES,
            page_max_lines=settings.WATTSON_DIFF_PAGE_MAX_LINES,
            file_max_lines=settings.WATTSON_DIFF_FILE_MAX_LINES,
            collapse_lines=settings.WATTSON_DIFF_COLLAPSE_LINES,
            highlight_max_bytes=settings.WATTSON_DIFF_HIGHLIGHT_MAX_BYTES,
            highlight_max_lines=settings.WATTSON_DIFF_HIGHLIGHT_MAX_LINES,
        )
