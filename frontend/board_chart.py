"""The dashboard's 24-hour chart of queue depth and delivery rate, as inline SVG.

Drawn on the server from the minute samples (queueing.samples): one chart per page load needs
no chart library in the browser, works with JavaScript off, and passes a strict CSP (no inline
script or style: colours come from classes in staff.css). Hand-written because it is two lines,
two axes and a few labels; a plotting library (matplotlib, pygal) would be a heavy dependency
for that and would bring its own inline styles.

Samples are grouped in 5-minute buckets (288 points for a day): depth is the most that waited in
the bucket, rate the average deliveries per minute. Buckets with no sample (the beat was down)
break the lines instead of drawing a straight line across the gap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

from immigration.models import Office
from immigration.office_time import format_time, local
from queueing.models import QueueSample

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 14, 30
BUCKET = dt.timedelta(minutes=5)

LABELS = {
    "id": {"depth": "Menunggu", "rate": "Terkirim per menit",
           "title": "Antrean dan laju pengiriman, 24 jam terakhir",
           "summary": "Tertinggi {peak} menunggu pada {at}; sekarang {now} menunggu.",
           "empty": "Belum ada data 24 jam terakhir."},
    "en": {"depth": "Waiting", "rate": "Sent per minute",
           "title": "Queue and delivery rate, last 24 hours",
           "summary": "At most {peak} waiting at {at}; {now} waiting now.",
           "empty": "No data for the last 24 hours yet."},
}


def _nice_ceiling(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _buckets(samples: Sequence[QueueSample], start: dt.datetime,
             count: int) -> list[tuple[int, float] | None]:
    grouped: list[list[QueueSample]] = [[] for _ in range(count)]
    for sample in samples:
        index = int((sample.at - start) / BUCKET)
        if 0 <= index < count:
            grouped[index].append(sample)
    return [(max(s.waiting for s in group), sum(s.delivered for s in group) / len(group))
            if group else None for group in grouped]


def _paths(points: list[tuple[float, float] | None]) -> str:
    """An SVG path through the points, lifted over the gaps."""
    parts: list[str] = []
    pen_down = False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
        pen_down = True
    return " ".join(parts)


def _number(value: float, lang: str) -> str:
    text = f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    # 1.234 and 2,5 in Indonesian; 1,234 and 2.5 in English.
    return text.translate(str.maketrans(",.", ".,")) if lang == "id" else text


def render_chart(samples: Sequence[QueueSample], office: Office, *, now: dt.datetime,
                 language: str = "id", hours: int = 24) -> SafeString:
    lang = "en" if language.startswith("en") else "id"
    words = LABELS[lang]
    count = hours * 60 // 5
    end = now.replace(second=0, microsecond=0)
    start = end - BUCKET * count
    buckets = _buckets(samples, start, count)
    seen = [b for b in buckets if b is not None]
    depth_top = _nice_ceiling(max((b[0] for b in seen), default=0))
    rate_top = _nice_ceiling(max((b[1] for b in seen), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + plot_w * (i + 0.5) / count

    def y(value: float, top: float) -> float:
        return TOP + plot_h * (1 - value / top)

    depth = _paths([(x(i), y(b[0], depth_top)) if b else None for i, b in enumerate(buckets)])
    rate = _paths([(x(i), y(b[1], rate_top)) if b else None for i, b in enumerate(buckets)])

    grid: list[str] = []
    for fraction in (0.0, 0.5, 1.0):
        gy = TOP + plot_h * (1 - fraction)
        grid.append(f'<line class="grid" x1="{LEFT}" y1="{gy:.1f}" x2="{WIDTH - RIGHT}" '
                    f'y2="{gy:.1f}"/>')
        grid.append(f'<text class="axis depth" x="{LEFT - 6}" y="{gy + 4:.1f}" '
                    f'text-anchor="end">{_number(depth_top * fraction, lang)}</text>')
        grid.append(f'<text class="axis rate" x="{WIDTH - RIGHT + 6}" y="{gy + 4:.1f}">'
                    f'{_number(rate_top * fraction, lang)}</text>')
    # An hour label every 3 hours of the office's clock, on the whole hour.
    first_hour = local(start, office).replace(minute=0, second=0, microsecond=0)
    tick = first_hour + dt.timedelta(hours=1)
    while tick <= local(end, office):
        if tick.hour % 3 == 0:
            i = (tick - start) / BUCKET
            tx = LEFT + plot_w * i / count
            grid.append(f'<line class="tick" x1="{tx:.1f}" y1="{TOP + plot_h}" x2="{tx:.1f}" '
                        f'y2="{TOP + plot_h + 4}"/>')
            grid.append(f'<text class="axis" x="{tx:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
                        f'{tick.hour:02d}{":" if lang == "en" else "."}00</text>')
        tick += dt.timedelta(hours=1)

    if seen:
        peak_index = max(range(count), key=lambda i: (buckets[i] or (-1, 0.0))[0])
        peak_at = start + BUCKET * peak_index
        current = buckets[-1] or seen[-1]
        summary = words["summary"].format(
            peak=_number(max(b[0] for b in seen), lang),
            at=format_time(peak_at, office, lang), now=_number(current[0], lang))
    else:
        summary = words["empty"]
        grid.append(f'<text class="empty" x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" '
                    f'text-anchor="middle">{escape(summary)}</text>')
    title = f"{words['title']} ({format_time(end, office, lang).split(' ')[-1]})"
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title">{escape(title)}</title>'
        f'<desc id="chart-desc">{escape(summary)}</desc>'
        f'{"".join(grid)}'
        f'<path class="line depth" d="{depth}"/>'
        f'<path class="line rate" d="{rate}"/>'
        f'</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - built above from numbers and escaped words only


def chart_legend(language: str = "id") -> dict[str, str]:
    return LABELS["en" if language.startswith("en") else "id"]
