"""Filters for the reports page."""

from __future__ import annotations

from django import template

register = template.Library()

BUCKET_LABELS = (("banked", "Banked"), ("at_stake", "At stake"), ("lost", "Lost"))


@register.filter
def buckets(report) -> list[tuple[str, str, object]]:
    return [(key, label, getattr(report, key)) for key, label in BUCKET_LABELS]


@register.filter
def duration(seconds) -> str:
    """Seconds as "42 s", "12 min", "3.5 h", "2.1 d"; a dash when unknown."""
    if seconds is None:
        return "—"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def percent(value) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"
