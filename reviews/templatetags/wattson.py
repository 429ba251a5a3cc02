"""Formatting filters for the console: power, age, shares, dates."""

from __future__ import annotations

import datetime as dt
import json
import math

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

_POWER_UNITS = ((1e9, "GW"), (1e6, "MW"), (1e3, "kW"))


@register.filter
def watts(value) -> str:
    """850 → "850 W", 1234 → "1.2 kW", 3_400_000 → "3.4 MW"; blanks for no value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(number) or math.isinf(number):
        return "—"
    sign = "-" if number < 0 else ""
    number = abs(number)
    for factor, unit in _POWER_UNITS:
        # Round first so 999_950 W reads "1.0 MW", not "1000.0 kW".
        if round(number / factor, 1) >= 1 or number >= factor:
            scaled = number / factor
            if round(scaled, 1) >= 1000 and unit != "GW":
                continue
            return f"{sign}{scaled:.1f} {unit}"
    return f"{sign}{number:.0f} W"


@register.filter
def age(value, now: dt.datetime | None = None) -> str:
    """A compact age: "just now", "5 min", "3 h", "2 d", "6 w", "4 mo", "2 y"."""
    if not isinstance(value, dt.datetime):
        return "—"
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 60:
        return "just now"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)} min"
    hours = minutes / 60
    if hours < 24:
        return f"{int(hours)} h"
    days = hours / 24
    if days < 14:
        return f"{int(days)} d"
    if days < 61:
        return f"{int(days // 7)} w"
    if days < 365:
        return f"{int(days // 30)} mo"
    return f"{int(days // 365)} y"


@register.filter
def pct(value, digits: int = 1) -> str:
    """12.345 → "12.3%"."""
    try:
        return f"{float(value):.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "—"


@register.filter
def pretty_json(value) -> str:
    """Indented JSON for a <pre>; the template's autoescaping still applies to the result."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def short_sha(value) -> str:
    return str(value or "")[:10]


@register.filter
def http_url(value) -> str:
    """The URL if it is http(s), else "": a detector-sent link must never be javascript:."""
    text = str(value or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else ""


@register.filter
def utc_minute(value) -> str:
    """ "2026-11-25 17:42 UTC". Cheaper than |date on a long page (no format parsing per call)."""
    if not isinstance(value, dt.datetime):
        return ""
    if timezone.is_aware(value):
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if timezone.is_aware(value) else value


@register.filter
def when(value) -> str:
    """The console's one date format: "5 Dec 2026, 14:03 UTC"; "—" for no date."""
    if not isinstance(value, dt.datetime):
        return "—"
    value = _as_utc(value)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


@register.filter
def timestamp(value) -> SafeString | str:
    """<time datetime="ISO">5 Dec 2026, 14:03 UTC</time>: readable, and exact for machines."""
    if not isinstance(value, dt.datetime):
        return "—"
    return format_html('<time datetime="{}">{}</time>', _as_utc(value).isoformat(), when(value))


@register.filter
def age_since(value) -> SafeString | str:
    """<time datetime="ISO" title="5 Dec 2026, 14:03 UTC">3 h</time> for tables and lists,
    where a compact age reads faster; the exact date is in the tooltip."""
    if not isinstance(value, dt.datetime):
        return "—"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        _as_utc(value).isoformat(),
        when(value),
        age(value),
    )
