"""Server-rendered SVG charts for the inventory pages: the stock landscape and the sales sparkline.

Pure functions: data in, SVG markup out, no queries. All markup is built with `format_html`, so
every value that reaches it (SKU names, codes, links) is escaped and a product called `<script>`
stays text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Days of cover → colour. Shared with the legend on the page (see `COVER_BANDS`).
RED = "#c0262d"
AMBER = "#e8a317"
GREEN = "#137a45"
GREY = "#98a2b3"
CRITICAL_DAYS = 3
WARNING_DAYS = 7
COVER_BANDS = (
    (RED, f"under {CRITICAL_DAYS} days"),
    (AMBER, f"under {WARNING_DAYS} days"),
    (GREEN, f"{WARNING_DAYS}+ days"),
    (GREY, "no recent sales"),
)


def cover_colour(days_of_cover: float | None) -> str:
    """Red under 3 days of cover, amber under 7, green otherwise; grey when nothing sells (None)."""
    if days_of_cover is None:
        return GREY
    if days_of_cover < CRITICAL_DAYS:
        return RED
    if days_of_cover < WARNING_DAYS:
        return AMBER
    return GREEN


@dataclass(frozen=True)
class LandscapeBar:
    label: str
    code: str
    available: int
    days_of_cover: float | None
    url: str = ""


def _cover_text(days: float | None) -> str:
    if days is None:
        return "no recent sales"
    if days < 1:
        return "under a day of cover"
    return f"{days:.1f} days of cover"


def _join(parts: Sequence[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def stock_landscape_svg(bars: Sequence[LandscapeBar], *, height: int = 120) -> SafeString:
    """One bar per SKU: height is the available stock (square-root scale, so one huge SKU does not
    flatten the rest), colour is the days of cover. Each bar has a `<title>` tooltip and links to
    the SKU when `url` is set. Empty input gives an empty string.

    The viewBox is 10 units per bar and the SVG stretches to its container's width
    (`preserveAspectRatio="none"`): there is no text inside to distort.
    """
    if not bars:
        return SafeString("")
    step, gap = 10, 2
    width = step * len(bars)
    top = max(math.sqrt(max(bar.available, 0)) for bar in bars) or 1.0
    usable = height - 2
    rects = []
    for index, bar in enumerate(bars):
        bar_height = max(usable * math.sqrt(max(bar.available, 0)) / top, 2.0)
        rect = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" rx="1" fill="{}"><title>{} ({}): {} available, {}</title></rect>',
            f"{index * step + gap / 2:g}",
            f"{height - 1 - bar_height:.1f}",
            step - gap,
            f"{bar_height:.1f}",
            cover_colour(bar.days_of_cover),
            bar.label,
            bar.code,
            bar.available,
            _cover_text(bar.days_of_cover),
        )
        rects.append(format_html('<a href="{}">{}</a>', bar.url, rect) if bar.url else rect)
    return format_html(
        '<svg class="chart chart-landscape" viewBox="0 0 {} {}" preserveAspectRatio="none" width="100%" '
        'height="{}" role="img" aria-label="Available stock per SKU, coloured by days of cover">'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#e4e7ec" stroke-width="1"/>{}</svg>',
        width,
        height,
        height,
        height - 0.5,
        width,
        height - 0.5,
        _join(rects),
    )


def sparkline_svg(
    values: Sequence[int], *, width: int = 240, height: int = 48, unit: str = "units"
) -> SafeString:
    """A line of hourly values, oldest first, newest at the right edge, with a shaded area under it
    and an invisible column per point whose `<title>` says "N units, K h ago". Empty input gives an
    empty string; all-zero input a flat line at the bottom.
    """
    if not values:
        return SafeString("")
    count = len(values)
    peak = max(max(values), 1)
    dx = width / max(count - 1, 1)
    pad = 2
    points = " ".join(
        f"{i * dx:.1f},{height - pad - (height - 2 * pad) * max(value, 0) / peak:.1f}"
        for i, value in enumerate(values)
    )
    columns = []
    for i, value in enumerate(values):
        hours_ago = count - 1 - i
        columns.append(
            format_html(
                '<rect x="{}" y="0" width="{}" height="{}" fill="transparent"><title>{} {}, {}</title></rect>',
                f"{max(i * dx - dx / 2, 0):.1f}",
                f"{dx:.1f}",
                height,
                value,
                unit,
                "this hour" if hours_ago == 0 else f"{hours_ago} h ago",
            )
        )
    return format_html(
        '<svg class="chart chart-sparkline" viewBox="0 0 {} {}" preserveAspectRatio="none" width="100%" '
        'height="{}" role="img" aria-label="{} {} in the last {} hours, peak {} an hour">'
        '<polygon points="0,{} {} {},{}" fill="#eef0ff"/>'
        '<polyline points="{}" fill="none" stroke="#4338ca" stroke-width="1.5" '
        'vector-effect="non-scaling-stroke"/>{}</svg>',
        width,
        height,
        height,
        sum(values),
        unit,
        count,
        max(values),
        height,
        points,
        width,
        height,
        points,
        _join(columns),
    )
