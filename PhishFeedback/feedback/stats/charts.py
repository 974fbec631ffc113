"""The page's charts as inline SVG: readable printed in black and white and by colour-blind readers.

Colours from the Okabe-Ito palette, each verdict with its own texture too (stripes, dots, hatching),
and every bar labelled with its value, so that nothing is told by colour alone. Every text that
enters the SVG is escaped: months and verdicts come from cases.
"""

from __future__ import annotations

from html import escape

from feedback.case import VERDICTS
from feedback.stats.tables import OTHERS

WIDTH = 760
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 64
# Okabe & Ito (2008), "Color Universal Design": told apart with every common colour-vision deficiency.
COLOURS = dict(zip(VERDICTS, ("#D55E00", "#E69F00", "#009E73", "#0072B2")))
OTHER_COLOUR, NONE_COLOUR = "#CC79A7", "#BBBBBB"
# Textures, in pattern units of 8: a verdict keeps its own even in grey print.
TEXTURES = {
    "Phishing": '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#fff" stroke-width="2"/>',
    "Spam": '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
    "Legit email": "",
    "Simulation": '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#fff" stroke-width="1.4"/>',
    "none": '<path d="M0,4 H8" stroke="#fff" stroke-width="2"/>',
    # The values summed in one column: a grid, told apart from each value shown on its own in grey print too.
    OTHERS: '<path d="M0,4 H8 M4,0 V8" stroke="#fff" stroke-width="1.4"/>',
}
# The other values shown on their own (tables.SHOWN_OTHERS), one texture each, in the order they are shown.
OTHER_TEXTURES = (
    '<path d="M4,0 V8" stroke="#fff" stroke-width="2"/>',
    '<path d="M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4" stroke="#fff" stroke-width="2"/>',
    '<rect x="2" y="2" width="4" height="4" fill="#fff"/>',
    '<circle cx="4" cy="4" r="2.2" fill="none" stroke="#fff" stroke-width="1.2"/>',
    '<path d="M0,6 L4,2 L8,6" fill="none" stroke="#fff" stroke-width="1.4"/>',
    '<path d="M0,2 H4 M4,6 H8" stroke="#fff" stroke-width="1.6"/>',
)
LABELLED = 14  # a segment at least this tall carries its value


def defs(verdicts: list[str]) -> str:
    """One pattern per verdict (its colour under its texture), shared by the page's charts."""
    patterns, others = [], iter(OTHER_TEXTURES)
    for index, verdict in enumerate(verdicts):
        texture = TEXTURES[verdict] if verdict in TEXTURES else next(others, OTHER_TEXTURES[0])
        patterns.append(
            f'<pattern id="v{index}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour(verdict)}"/>{texture}</pattern>'
        )
    return f'<svg width="0" height="0" aria-hidden="true" focusable="false"><defs>{"".join(patterns)}</defs></svg>'


def colour(verdict: str) -> str:
    return COLOURS.get(verdict) or (NONE_COLOUR if verdict == "none" else OTHER_COLOUR)


def patterns(count: int) -> list[str]:
    """The fills of the verdicts' patterns, for stacked_bars."""
    return [f"url(#v{index})" for index in range(count)]


def legend(verdicts: list[str]) -> str:
    items = "".join(
        f'<li><svg width="18" height="14" aria-hidden="true"><rect width="18" height="14" fill="url(#v{i})"'
        f' stroke="#333" stroke-width="0.5"/></svg>{escape(verdict)}</li>'
        for i, verdict in enumerate(verdicts)
    )
    return f'<ul class="legend">{items}</ul>'


def stacked_bars(labels: list[str], stacks: list[list[int]], fills: list[str], title: str, height: int = 320) -> str:
    """Vertical bars, one per label, each stacked from its values, the i-th filled with fills[i]; values written on."""
    totals = [sum(stack) for stack in stacks]
    top, step = _scale(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar = min(56.0, slot * 0.7)
    every = max(1, round(len(labels) / 18 + 0.49))
    # Labels turned aslant only where they would run into each other.
    slanted = slot * every < 7 * max((len(label) for label in labels), default=0) + 8
    parts = [_axis(top, step, plot_h, height)]
    for n, (label, stack, total) in enumerate(zip(labels, stacks, totals)):
        x = LEFT + slot * n + (slot - bar) / 2
        y = TOP + plot_h
        for index, value in enumerate(stack):
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{fills[index]}"'
                f' stroke="#fff" stroke-width="0.5"><title>{escape(label)}: {value}</title></rect>'
            )
            if len(stack) > 1 and h >= LABELLED and bar >= 22:
                parts.append(_label(x + bar / 2, y + h / 2 + 4, value, "inside"))
        parts.append(_label(x + bar / 2, y - 4, total, "total"))
        if n % every == 0:
            middle, below = x + bar / 2, TOP + plot_h + 16
            turned = (
                f' text-anchor="end" transform="rotate(-40 {middle:.1f} {below})"'
                if slanted
                else ' text-anchor="middle"'
            )
            parts.append(f'<text class="tick" x="{middle:.1f}" y="{below}"{turned}>{escape(label)}</text>')
    return _svg(title, height, parts)


def _axis(top: int, step: int, plot_h: float, height: int) -> str:
    lines = []
    for value in range(0, top + 1, step):
        y = TOP + plot_h - plot_h * value / top
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,}</text>'
        )
    lines.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" class="axis"/>')
    return "".join(lines)


def _label(x: float, y: float, value: int, kind: str) -> str:
    return f'<text class="{kind}" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{value:,}</text>'


def _svg(title: str, height: int, parts: list[str]) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _scale(largest: int) -> tuple[int, int]:
    """The axis's top and step: a round step (1, 2 or 5 times a power of ten), about five of them."""
    if largest <= 0:
        return 1, 1
    step = 1
    while largest / step > 6:
        for factor in (2, 5 / 2, 2):
            step = round(step * factor)
            if largest / step <= 6:
                break
    return step * -(-largest // step), step
