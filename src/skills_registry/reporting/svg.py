"""Server-rendered SVG charts for the dashboard: no JavaScript, no external resources.

Every function returns a `Markup` string; every label is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

FONT = 'font-family="Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif"'
COLOURS = ("#9b1c1c", "#d97706", "#1d4ed8", "#15803d")


def number(value: int | float) -> str:
    return f"{value:,}"


def percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def progress_bar(value: int, target: int, elapsed: float, label: str) -> Markup:
    """A bar filled to value/target (capped at the frame) with a marker at the elapsed share."""
    width, height, bar_top, bar_height = 900, 48, 6, 20
    ratio = value / target if target else 0.0
    filled = min(ratio, 1.0) * width
    marker = min(max(elapsed, 0.0), 1.0) * width
    colour = "#15803d" if ratio >= elapsed else "#9b1c1c"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(label)}" {FONT} font-size="13">',
        f"<title>{escape(label)}</title>",
        f'<rect x="0" y="{bar_top}" width="{width}" height="{bar_height}" rx="4" fill="#e5e7eb"/>',
        f'<rect x="0" y="{bar_top}" width="{filled:.1f}" height="{bar_height}" rx="4" fill="{colour}"/>',
        f'<line x1="{marker:.1f}" y1="2" x2="{marker:.1f}" y2="{bar_top + bar_height + 4}" '
        'stroke="#111827" stroke-width="2" stroke-dasharray="4 2"/>',
        f'<text x="{min(max(marker, 60), width - 60):.1f}" y="{height - 6}" text-anchor="middle" '
        f'fill="#374151">时间进度 {percent(elapsed)}</text>',
        f'<text x="{filled + 6 if filled < width - 80 else filled - 6:.1f}" y="{bar_top + 15}" '
        f'text-anchor="{"start" if filled < width - 80 else "end"}" '
        f'fill="{"#111827" if filled < width - 80 else "#ffffff"}">完成 {percent(ratio)}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above


def column_chart(
    categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], label: str
) -> Markup:
    """Grouped vertical bars: one group per category (e.g. year), one bar per series."""
    width, height, left, bottom, top = 900, 310, 56, 40, 44
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = max([max(values, default=0) for _, values in series] + [1])
    groups = max(len(categories), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" {FONT} font-size="12">',
        f"<title>{escape(label)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#9ca3af"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="#6b7280">{number(peak)}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" fill="#6b7280">0</text>',
    ]
    for g, category in enumerate(categories):
        x0 = left + g * group_w + group_w * 0.1
        for s, (_, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot_h * value / peak
            x = x0 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(category)} '
                f"{escape(series[s][0])}: {number(value)}</title></rect>"
            )
            parts.append(
                f'<text x="{x + (bar_w - 2) / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                f'text-anchor="middle" font-size="10" fill="#374151">{number(value)}</text>'
            )
        parts.append(
            f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{top + plot_h + 16}" '
            f'text-anchor="middle" fill="#111827">{escape(category)}</text>'
        )
    for s, (name, _) in enumerate(series):
        x = left + s * 170
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>'
            f'<text x="{x + 16}" y="16" fill="#111827">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above


def bar_list(items: Sequence[tuple[str, int]], label: str, colour: str = COLOURS[0]) -> Markup:
    """Horizontal bars, one per item (district, level), with the number at the end."""
    row_h, left, width = 24, 100, 420
    height = row_h * max(len(items), 1) + 8
    peak = max([value for _, value in items] + [1])
    plot_w = width - left - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}" {FONT} font-size="12">',
        f"<title>{escape(label)}</title>",
    ]
    for i, (name, value) in enumerate(items):
        y = 4 + i * row_h
        w = plot_w * value / peak
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" fill="#111827">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{colour}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 16}" fill="#374151">{number(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above
