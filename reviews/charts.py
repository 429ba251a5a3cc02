"""Server-side SVG charts for the reports page: no CDN, no script, every label escaped.

Colours are presentation attributes (allowed by our CSP), not style attributes. The finding
page's change-point chart lives here too, sharing the SVG helpers: a little over 500 lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

SERIES_COLOURS = {"banked": "#1f8a4c", "at_stake": "#d08a0c", "lost": "#c0392b"}
SERIES_LABELS = {"banked": "Banked", "at_stake": "At stake", "lost": "Lost"}


def _h(template: str, *args) -> SafeString:
    """format_html for SVG: floats become 1-decimal strings (format_html escapes to str first)."""
    return format_html(
        template.replace("{:.1f}", "{}"),
        *[f"{a:.1f}" if isinstance(a, float) else a for a in args],
    )


def watts_unit(max_watts: float) -> tuple[float, str]:
    """Divisor and unit that keep axis numbers short: W, kW or MW."""
    if max_watts >= 1_000_000:
        return 1_000_000.0, "MW"
    if max_watts >= 1_000:
        return 1_000.0, "kW"
    return 1.0, "W"


def _nice_ticks(maximum: float, count: int = 4) -> list[float]:
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * magnitude:
            step_value = step * magnitude
            break
    else:  # pragma: no cover - raw <= 10 * magnitude always holds
        step_value = raw
    ticks = [0.0]
    while ticks[-1] < maximum:
        ticks.append(ticks[-1] + step_value)
    return ticks


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _svg(width: int, height: int, title: str, body: SafeString, desc: str = "") -> SafeString:
    return _h(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="t" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title><desc>{}</desc>'
        '<text x="{}" y="20" class="chart-title" text-anchor="middle">{}</text>{}</svg>',
        width,
        height,
        title,
        desc,
        width // 2,
        title,
        body,
    )


def _empty(width: int, title: str, message: str) -> SafeString:
    """A chart with nothing to draw says so, at the chart's own width."""
    return _svg(
        width,
        120,
        title,
        _h(
            '<text x="{}" y="70" text-anchor="middle" class="chart-empty">{}</text>',
            width // 2,
            message,
        ),
    )


def _legend(x: int, y: int) -> SafeString:
    return format_html_join(
        "",
        '<rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
        '<text x="{}" y="{}" class="chart-legend">{}</text>',
        (
            (x + i * 110, y, SERIES_COLOURS[key], x + i * 110 + 16, y + 10, SERIES_LABELS[key])
            for i, key in enumerate(SERIES_COLOURS)
        ),
    )


def savings_trend(weeks: Sequence[dict]) -> SafeString:
    """Grouped weekly bars of banked, at-stake and lost watts."""
    width, height = 760, 300
    left, right, top, bottom = 70, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    title = "Savings per week"
    if not weeks:
        return _empty(width, title, "No decided or pending proposals in this range yet.")
    peak = max(max(w[k] for k in SERIES_COLOURS) for w in weeks)
    divisor, unit = watts_unit(peak)
    ticks = _nice_ticks(peak / divisor)
    top_value = ticks[-1] or 1.0
    parts: list[SafeString] = []
    for tick in ticks:
        y = top + plot_h - plot_h * tick / top_value
        parts.append(
            _h(
                '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="chart-grid"/>'
                '<text x="{}" y="{:.1f}" text-anchor="end" class="chart-tick">{}</text>',
                left,
                left + plot_w,
                y,
                y,
                left - 6,
                y + 4,
                _fmt(tick),
            )
        )
    slot = plot_w / len(weeks)
    bar = max(1.0, slot / 4)
    label_every = max(1, len(weeks) // 12)
    for i, week in enumerate(weeks):
        x0 = left + i * slot + (slot - 3 * bar) / 2
        for j, key in enumerate(SERIES_COLOURS):
            value = week[key] / divisor
            h = plot_h * value / top_value
            parts.append(
                _h(
                    '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
                    "<title>{} {}: {} {}</title></rect>",
                    x0 + j * bar,
                    top + plot_h - h,
                    bar,
                    h,
                    SERIES_COLOURS[key],
                    week["week"],
                    SERIES_LABELS[key],
                    _fmt(value),
                    unit,
                )
            )
        if i % label_every == 0:
            parts.append(
                _h(
                    '<text x="{:.1f}" y="{}" text-anchor="middle" class="chart-tick">{}</text>',
                    left + i * slot + slot / 2,
                    top + plot_h + 16,
                    (week["week"] or "")[5:],
                )
            )
    parts.append(
        _h(
            '<text x="{}" y="{}" text-anchor="middle" class="chart-axis">{}</text>'
            '<text x="16" y="{}" text-anchor="middle" class="chart-axis" '
            'transform="rotate(-90 16 {})">{}</text>',
            left + plot_w // 2,
            height - 24,
            "Week starting (month-day)",
            top + plot_h // 2,
            top + plot_h // 2,
            f"Power ({unit})",
        )
    )
    parts.append(_legend(left, height - 16))
    return _svg(width, height, title, mark_safe("".join(parts)))  # noqa: S308 - parts are format_html output


def stacked_breakdown(rows: Sequence[dict], *, dimension: str, limit: int = 10) -> SafeString:
    """Horizontal stacked bars: banked + at stake + lost watts per group."""
    title = f"Savings by {dimension}"
    rows = list(rows)[:limit]
    width = 760
    row_h, top, left, right = 26, 40, 170, 90
    height = top + max(1, len(rows)) * row_h + 60
    if not rows:
        return _empty(width, title, "Nothing to break down yet.")
    totals = [sum(r[k]["watts"] for k in SERIES_COLOURS) for r in rows]
    divisor, unit = watts_unit(max(totals))
    peak = max(totals) / divisor or 1.0
    plot_w = width - left - right
    parts: list[SafeString] = []
    for i, row in enumerate(rows):
        y = top + i * row_h
        x = float(left)
        label = str(row["key"])
        parts.append(
            _h(
                '<text x="{}" y="{}" text-anchor="end" class="chart-tick">{}</text>',
                left - 8,
                y + 16,
                label if len(label) <= 24 else label[:23] + "…",
            )
        )
        for key in SERIES_COLOURS:
            value = row[key]["watts"] / divisor
            w = plot_w * value / peak
            if w > 0:
                parts.append(
                    _h(
                        '<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" fill="{}">'
                        "<title>{} — {}: {} {}</title></rect>",
                        x,
                        y + 4,
                        w,
                        row_h - 8,
                        SERIES_COLOURS[key],
                        label,
                        SERIES_LABELS[key],
                        _fmt(value),
                        unit,
                    )
                )
            x += w
        parts.append(
            _h(
                '<text x="{:.1f}" y="{}" class="chart-tick">{} {}</text>',
                x + 6,
                y + 16,
                _fmt(totals[i] / divisor),
                unit,
            )
        )
    parts.append(
        _h(
            '<text x="{}" y="{}" text-anchor="middle" class="chart-axis">{}</text>',
            left + plot_w // 2,
            height - 30,
            f"Power ({unit}), stacked: banked + at stake + lost",
        )
    )
    parts.append(_legend(left, height - 16))
    return _svg(width, height, title, mark_safe("".join(parts)))  # noqa: S308


def skill_acceptance(skills: Sequence) -> SafeString:
    """Acceptance rate per skill with its 95% Wilson interval as a whisker."""
    title = "Skill acceptance (95% Wilson interval)"
    rows = [s for s in skills if s.version is None and s.acceptance_rate is not None]
    width, row_h, top, left, right = 760, 28, 40, 190, 40
    height = top + max(1, len(rows)) * row_h + 50
    if not rows:
        return _empty(width, title, "No approvals or rejections yet.")
    plot_w = width - left - right
    parts: list[SafeString] = []
    for pct in (0, 25, 50, 75, 100):
        x = left + plot_w * pct / 100
        parts.append(
            _h(
                '<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" class="chart-grid"/>'
                '<text x="{:.1f}" y="{}" text-anchor="middle" class="chart-tick">{}%</text>',
                x,
                x,
                top,
                top + len(rows) * row_h,
                x,
                top + len(rows) * row_h + 16,
                pct,
            )
        )
    for i, skill in enumerate(rows):
        y = top + i * row_h + row_h / 2
        low = left + plot_w * (skill.wilson_low or 0)
        high = left + plot_w * (skill.wilson_high or 0)
        mid = left + plot_w * skill.acceptance_rate
        colour = "#c0392b" if skill.needs_attention else "#2c5fa8"
        parts.append(
            _h(
                '<text x="{}" y="{:.1f}" text-anchor="end" class="chart-tick">{}</text>'
                '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" '
                'stroke-width="2"/>'
                '<circle cx="{:.1f}" cy="{:.1f}" r="5" fill="{}">'
                "<title>{}: {}% accepted of {} decided (95% CI {}–{}%)</title></circle>",
                left - 8,
                y + 4,
                skill.skill,
                low,
                high,
                y,
                y,
                colour,
                mid,
                y,
                colour,
                skill.skill,
                round(skill.acceptance_rate * 100),
                skill.approved + skill.rejected,
                round((skill.wilson_low or 0) * 100),
                round((skill.wilson_high or 0) * 100),
            )
        )
    parts.append(
        _h(
            '<text x="{}" y="{}" text-anchor="middle" class="chart-axis">{}</text>',
            left + plot_w // 2,
            height - 10,
            "Approved ÷ (approved + rejected), %",
        )
    )
    return _svg(width, height, title, mark_safe("".join(parts)))  # noqa: S308


def _axis_number(value: float) -> str:
    """Tick labels for any unit: seconds, shares, throughputs (3 significant digits)."""
    return f"{value:.3g}"


def _span_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) spanning low..high with margin.

    Not from zero: a 2 % step on a level of 100 would be a flat line on a zero-based axis.
    """
    margin = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    # Times and shares are never negative: the axis does not go below zero for them.
    low, high = (max(0.0, low - margin) if low >= 0 else low - margin), high + margin
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 2.5, 5, 10) if f * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - 1e-12 * step:
        ticks.append(first + len(ticks) * step)
    return ticks


@dataclass(frozen=True)
class _Plot:
    """Where a series of `count` points between `low` and `high` lands in the SVG."""

    left: int
    top: int
    width: int
    height: int
    count: int
    low: float
    high: float

    def x(self, index: float) -> float:
        return self.left + self.width * index / (self.count - 1)

    def y(self, value: float) -> float:
        return self.top + self.height - self.height * (value - self.low) / (self.high - self.low)


def change_point(
    *,
    points: Sequence[tuple[str, str, float]],
    change_index: int,
    baseline_mean: float,
    current_mean: float,
    unit: str,
    title: str,
) -> SafeString:
    """A series (time, commit, value) with its change point and the means before and after."""
    width, height = 760, 300
    left, right, top, bottom = 70, 20, 50, 60
    if len(points) < 2 or not 0 < change_index < len(points):
        return _empty(width, title, "Too few points to draw.")
    values = [value for _, _, value in points]
    ticks = _span_ticks(min(values), max(values))
    plot = _Plot(
        left=left,
        top=top,
        width=width - left - right,
        height=height - top - bottom,
        count=len(points),
        low=ticks[0],
        high=ticks[-1],
    )
    parts = [
        *_value_grid(plot, ticks),
        *_series_points(plot, points, change_index=change_index, unit=unit),
        _change_marker(plot, points, change_index=change_index),
        *_mean_lines(plot, change_index, means=(baseline_mean, current_mean), unit=unit),
        _series_axes(plot, points, chart_height=height, unit=unit),
        _means_legend(plot, chart_height=height, means=(baseline_mean, current_mean), unit=unit),
    ]
    return _svg(width, height, title, mark_safe("".join(parts)))  # noqa: S308


def _value_grid(plot: _Plot, ticks: Sequence[float]) -> list[SafeString]:
    return [
        _h(
            '<line x1="{}" x2="{}" y1="{:.1f}" y2="{:.1f}" class="chart-grid"/>'
            '<text x="{}" y="{:.1f}" text-anchor="end" class="chart-tick">{}</text>',
            plot.left,
            plot.left + plot.width,
            plot.y(value),
            plot.y(value),
            plot.left - 6,
            plot.y(value) + 4,
            _axis_number(value),
        )
        for value in ticks
    ]


def _series_points(
    plot: _Plot, points: Sequence[tuple[str, str, float]], *, change_index: int, unit: str
) -> list[SafeString]:
    """The line through every point, and each point with its time, commit and value."""
    path = " ".join(f"{plot.x(i):.1f},{plot.y(v):.1f}" for i, (_, _, v) in enumerate(points))
    parts = [_h('<polyline points="{}" fill="none" stroke="#9aa5b1"/>', path)]
    for index, (moment, commit, value) in enumerate(points):
        colour = "#c0392b" if index >= change_index else "#2c5fa8"
        parts.append(
            _h(
                '<circle cx="{:.1f}" cy="{:.1f}" r="2.5" fill="{}">'
                "<title>{} · {} · {} {}</title></circle>",
                plot.x(index),
                plot.y(value),
                colour,
                moment[:16].replace("T", " "),
                commit[:12] or "no commit",
                _axis_number(value),
                unit,
            )
        )
    return parts


def _change_marker(
    plot: _Plot, points: Sequence[tuple[str, str, float]], *, change_index: int
) -> SafeString:
    boundary = plot.x(change_index - 0.5)
    return _h(
        '<line x1="{:.1f}" x2="{:.1f}" y1="{}" y2="{}" stroke="#111" '
        'stroke-dasharray="4 3" class="change-point"/>'
        '<text x="{:.1f}" y="{}" class="chart-tick" text-anchor="middle">{}</text>',
        boundary,
        boundary,
        plot.top,
        plot.top + plot.height,
        boundary,
        plot.top - 6,
        "change: " + (points[change_index][1][:12] or points[change_index][0][:10]),
    )


def _mean_lines(
    plot: _Plot, change_index: int, *, means: tuple[float, float], unit: str
) -> list[SafeString]:
    return [
        _h(
            '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" '
            'stroke-width="2" class="mean-{}"><title>mean {}: {} {}</title></line>',
            plot.x(start),
            plot.x(end),
            plot.y(mean),
            plot.y(mean),
            colour,
            label,
            label,
            _axis_number(mean),
            unit,
        )
        for start, end, mean, colour, label in (
            (0, change_index - 1, means[0], "#2c5fa8", "before"),
            (change_index, plot.count - 1, means[1], "#c0392b", "after"),
        )
    ]


def _series_axes(
    plot: _Plot, points: Sequence[tuple[str, str, float]], *, chart_height: int, unit: str
) -> SafeString:
    """The first and last dates under the plot, and both axis titles."""
    return _h(
        '<text x="{}" y="{}" class="chart-tick">{}</text>'
        '<text x="{}" y="{}" class="chart-tick" text-anchor="end">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" class="chart-axis">{}</text>'
        '<text x="16" y="{}" text-anchor="middle" class="chart-axis" '
        'transform="rotate(-90 16 {})">{}</text>',
        plot.left,
        plot.top + plot.height + 16,
        points[0][0][:10],
        plot.left + plot.width,
        plot.top + plot.height + 16,
        points[-1][0][:10],
        plot.left + plot.width // 2,
        chart_height - 24,
        f"Measurements, oldest to newest ({len(points)} points)",
        plot.top + plot.height // 2,
        plot.top + plot.height // 2,
        unit or "value",
    )


def _means_legend(
    plot: _Plot, *, chart_height: int, means: tuple[float, float], unit: str
) -> SafeString:
    return _h(
        '<rect x="{}" y="{}" width="12" height="3" fill="#2c5fa8"/>'
        '<text x="{}" y="{}" class="chart-legend">mean before: {} {}</text>'
        '<rect x="{}" y="{}" width="12" height="3" fill="#c0392b"/>'
        '<text x="{}" y="{}" class="chart-legend">mean after: {} {}</text>',
        plot.left,
        chart_height - 12,
        plot.left + 16,
        chart_height - 8,
        _axis_number(means[0]),
        unit,
        plot.left + 260,
        chart_height - 12,
        plot.left + 276,
        chart_height - 8,
        _axis_number(means[1]),
        unit,
    )


__all__ = ["change_point", "savings_trend", "skill_acceptance", "stacked_breakdown", "watts_unit"]
