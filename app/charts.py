"""Server-side SVG charts for the admin pages. Pure: numbers in, `markupsafe.Markup` out.

Nothing needs JavaScript. Every chart is one complete ``<svg role="img">`` whose accessible
name is its ``<title>`` and whose ``<desc>`` says in words what it shows, numbers included;
the drawing itself carries visible text labels and a legend.

* The site's CSP forbids inline styles (``style-src 'self'``): there is no ``style``
  attribute and no ``<style>`` element. Colours are presentation attributes (``fill``,
  ``stroke``) and every drawn element has a ``chart-…`` class the site stylesheet may
  override. Text and axes use ``currentColor``.
* Series are told apart without colour: solid, dotted or hatched fills, side-by-side bars in
  a fixed order, solid, dashed or dotted lines, and a legend showing each.
* Sizes lie in the ``viewBox`` only: the svg has no width or height. Style it through its
  class, e.g. ``.chart { width: 100%; height: auto; }``.
* Text is `app.labels.CHART_LABELS` (French, or the staff member's language in a request);
  pass ``labels`` (any subset of the keys) to change some. Every text and attribute value is
  escaped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.labels import CHART_LABELS

# French by default, or the staff member's language: the labels are `lazy_gettext`.
DEFAULT_LABELS = CHART_LABELS

WIDTH = 640  # every chart is this wide in its viewBox
_FONT = 12
_PLOT_LEFT = 64
_PLOT_RIGHT = WIDTH - 20
_PLOT_HEIGHT = 220
_BELOW_PLOT = 48  # tick labels and axis title


@dataclass(frozen=True)
class _Fill:
    """How a series is painted: a fill (colour or pattern), an outline, a pattern to define."""

    name: str
    fill: str
    stroke: str
    pattern: str = ""  # the <pattern> body, when `fill` is one


# Okabe–Ito colours (safe for colour-blind readers), each with its own texture.
_FILLS: tuple[_Fill, ...] = (
    _Fill("solid", "#0072b2", "#004a75"),
    _Fill(
        "dots",
        "dots",
        "#9a6a00",
        '<path d="M0 0H6V6H0Z" fill="#f6dca0"/><circle cx="3" cy="3" r="1.6" fill="#9a6a00"/>',
    ),
    _Fill(
        "hatch",
        "hatch",
        "#a34400",
        '<path d="M0 0H6V6H0Z" fill="#fbd3b5"/><path d="M0 0V6" stroke="#a34400" '
        'stroke-width="3"/>',
    ),
    _Fill(
        "cross",
        "cross",
        "#00684a",
        '<path d="M0 0H6V6H0Z" fill="#c3ecdf"/><path d="M0 3H6M3 0V6" stroke="#00684a" '
        'stroke-width="1.2"/>',
    ),
    _Fill(
        "rings",
        "rings",
        "#8f3f71",
        '<path d="M0 0H6V6H0Z" fill="#f2d4e6"/><circle cx="3" cy="3" r="1.8" fill="none" '
        'stroke="#8f3f71" stroke-width="1"/>',
    ),
)
_APPROVED_FILL = _FILLS[0]
_REJECTED_FILL = _FILLS[2]


@dataclass(frozen=True)
class _Stroke:
    color: str
    width: float
    dash: str | None = None


_HOLD_STROKE = _Stroke("#9a6a00", 2, "6 4")
_REJECT_STROKE = _Stroke("#a34400", 2.5)
_SUGGESTED_STROKE = _Stroke("#00684a", 2.5, "2 3")
_AGREEMENT_STROKE = _Stroke("#0072b2", 2.5)
_WORKLOAD_STROKE = _Stroke("#9a6a00", 2.5, "8 4")
_FALSE_PUBLISH_STROKE = _Stroke("#a34400", 2, "2 3")
_TARGET_STROKE = _Stroke("currentColor", 1, "10 3 2 3")


# --------------------------------------------------------------------------------------------
# Public charts
# --------------------------------------------------------------------------------------------


def histogram_svg(
    approved: Sequence[int],
    rejected: Sequence[int],
    *,
    hold: float | None = None,
    reject: float | None = None,
    suggested: float | None = None,
    title: str,
    labels: Mapping[str, str] | None = None,
    desc: str | None = None,
) -> Markup:
    """Score histograms of approved vs rejected comments, with the thresholds as lines.

    `approved` and `rejected` are counts per equal bin over [0, 1] (as from
    `app.simulation.histogram`), same length. In each bin the approved bar (solid) stands left
    of the rejected one (hatched); one ``rect.chart-bar`` per count, zero ones included. The
    current `hold` and `reject` thresholds and the `suggested` one are vertical lines
    (dashed, solid, dotted) when given. `desc` replaces the generated description.
    """
    text = _labels(labels)
    bins = len(approved)
    if bins < 1 or len(rejected) != bins:
        raise ValueError("approved and rejected need the same number of bins (at least one)")
    _check_counts(approved)
    _check_counts(rejected)
    lines = [
        (key, value, stroke)
        for key, value, stroke in (
            ("hold", hold, _HOLD_STROKE),
            ("reject", reject, _REJECT_STROKE),
            ("suggested", suggested, _SUGGESTED_STROKE),
        )
        if value is not None
    ]
    for _, value, _ in lines:
        _check_unit(value)
    uid = _uid("histogram", title, approved, rejected, hold, reject, suggested)

    legend, legend_height = _legend(
        [("swatch", text["approved"], _APPROVED_FILL), ("swatch", text["rejected"], _REJECTED_FILL)]
        + [
            ("line", f"{text[key + '_line']} ({_num(value, text)})", stroke)
            for key, value, stroke in lines
        ],
        uid,
    )
    top = legend_height + 16
    plot = _Plot(top)
    body = [legend]
    ticks = _count_ticks(max([*approved, *rejected]))
    body.append(plot.y_axis(ticks, text, text["count_axis"]))
    body.append(plot.x_axis_unit(text, text["score_axis"]))

    slot = plot.width / bins
    gap = min(2.0, slot * 0.1)
    bar = (slot - 2 * gap) / 2
    for i in range(bins):
        span = f"{_num(i / bins, text)}–{_num((i + 1) / bins, text)}"
        for j, (counts, fill, key) in enumerate(
            ((approved, _APPROVED_FILL, "approved"), (rejected, _REJECTED_FILL, "rejected"))
        ):
            height = plot.height * counts[i] / ticks[-1]
            body.append(
                _el(
                    "rect",
                    _el(
                        "title",
                        f"{span}{text['colon']}{text[key]}{text['colon']}{_int(counts[i], text)}",
                    ),
                    class_=f"chart-bar chart-bar--{key}",
                    x=plot.left + i * slot + gap + j * bar,
                    y=plot.bottom - height,
                    width=bar,
                    height=height,
                    **_fill_attrs(fill, uid),
                )
            )
    for key, value, stroke in lines:
        body.append(
            _vertical(
                plot,
                value,
                stroke,
                f"chart-threshold chart-threshold--{key}",
                f"{text[key + '_line']}{text['colon']}{_num(value, text)}",
            )
        )

    if desc is None:
        parts = [
            _format(
                text["desc_histogram"],
                bins=bins,
                approved=_int(sum(approved), text),
                rejected=_int(sum(rejected), text),
            )
        ]
        parts += [
            f"{text[key + '_line']}{text['colon']}{_num(value, text)}." for key, value, _ in lines
        ]
        filled = [
            _format(
                text["desc_bin"],
                range=f"{_num(i / bins, text)}–{_num((i + 1) / bins, text)}",
                approved=_int(approved[i], text),
                rejected=_int(rejected[i], text),
            )
            for i in range(bins)
            if approved[i] or rejected[i]
        ]
        parts.append(text["list_separator"].join(filled) + "." if filled else text["no_data"])
        desc = " ".join(parts)
    return _svg("histogram", uid, plot.total_height, title, desc, body, _defs(uid))


def curve_svg(
    curve: Sequence[Sequence[float]],
    *,
    target: float,
    suggested: float | None = None,
    title: str,
    labels: Mapping[str, str] | None = None,
    desc: str | None = None,
    false_publish: bool = True,
) -> Markup:
    """Agreement and workload (and false publishes) against the threshold, from 0 to 1.

    `curve` holds points ``(threshold, agreement, workload, false_publish, ...)``, shares in
    [0, 1] (an `app.simulation.CurvePoint` list fits). Agreement is a solid line, workload a
    dashed one, false publishes a dotted one (left out with ``false_publish=False``, or when
    the points have no fourth value). A horizontal line marks the `target` agreement, a
    vertical one the `suggested` threshold.
    """
    text = _labels(labels)
    _check_unit(target)
    if suggested is not None:
        _check_unit(suggested)
    points = sorted((tuple(p) for p in curve), key=lambda p: p[0])
    for p in points:
        for value in p[:4]:
            _check_unit(value)
    series: list[tuple[str, int, _Stroke]] = [
        ("agreement", 1, _AGREEMENT_STROKE),
        ("workload", 2, _WORKLOAD_STROKE),
    ]
    if false_publish and all(len(p) >= 4 for p in points):
        series.append(("false_publish", 3, _FALSE_PUBLISH_STROKE))
    uid = _uid("curve", title, points, target, suggested, false_publish)

    items: list[tuple[str, str, _Fill | _Stroke]] = [
        ("line", text[key], stroke) for key, _, stroke in series
    ]
    items.append(("line", f"{text['target_line']} ({_pct(target, text)})", _TARGET_STROKE))
    if suggested is not None:
        items.append(
            ("line", f"{text['suggested_line']} ({_num(suggested, text)})", _SUGGESTED_STROKE)
        )
    legend, legend_height = _legend(items, uid)
    plot = _Plot(legend_height + 16)
    body = [legend, plot.y_axis_share(text, text["share_axis"])]
    body.append(plot.x_axis_unit(text, text["threshold_axis"]))

    for key, index, stroke in series:
        if points:
            coords = " ".join(f"{_n(plot.x(p[0]))},{_n(plot.y(p[index]))}" for p in points)
            body.append(
                _el(
                    "polyline",
                    _el("title", text[key]),
                    class_=f"chart-curve chart-curve--{key}",
                    points=coords,
                    fill="none",
                    **_stroke_attrs(stroke),
                )
            )
    y = plot.y(target)
    body.append(
        _el(
            "line",
            _el("title", f"{text['target_line']}{text['colon']}{_pct(target, text)}"),
            class_="chart-target",
            x1=plot.left,
            x2=plot.right,
            y1=y,
            y2=y,
            **_stroke_attrs(_TARGET_STROKE),
        )
    )
    chosen = _nearest(points, suggested)
    if suggested is not None:
        body.append(
            _vertical(
                plot,
                suggested,
                _SUGGESTED_STROKE,
                "chart-threshold chart-threshold--suggested",
                f"{text['suggested_line']}{text['colon']}{_num(suggested, text)}",
            )
        )
        if chosen is not None:
            for key, index, stroke in series:
                body.append(
                    _el(
                        "circle",
                        _el("title", f"{text[key]}{text['colon']}{_pct(chosen[index], text)}"),
                        class_=f"chart-marker chart-marker--{key}",
                        cx=plot.x(suggested),
                        cy=plot.y(chosen[index]),
                        r=4,
                        fill=stroke.color,
                        stroke="#ffffff",
                        stroke_width=1,
                    )
                )
    if not points:
        body.append(plot.message(text["no_data"]))

    if desc is None:
        parts = [text["desc_curve"], f"{text['target_line']}{text['colon']}{_pct(target, text)}."]
        if suggested is not None:
            line = f"{text['suggested_line']}{text['colon']}{_num(suggested, text)}"
            if chosen is not None:
                line += " — " + _describe_point(chosen, text)
            parts.append(line + ".")
        if points:
            samples = [_nearest(points, i / 10) for i in range(11)]
            unique = list(dict.fromkeys(p for p in samples if p is not None))
            parts.append(
                text["list_separator"].join(_describe_point(p, text) for p in unique) + "."
            )
        else:
            parts.append(text["no_data"])
        desc = " ".join(parts)
    return _svg("curve", uid, plot.total_height, title, desc, body, "")


def bars_svg(
    rows: Sequence[tuple[str, int]],
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
    desc: str | None = None,
) -> Markup:
    """Horizontal bars, one per `(label, count)` row, in the given order, value at the end.

    For comments per day, busiest articles... Long labels are cut (with « … ») and given in
    full in each bar's tooltip and in the description. One ``rect.chart-bar`` per row.
    """
    text = _labels(labels)
    _check_counts([value for _, value in rows])
    uid = _uid("bars", title, rows)
    row_height, bar_height, top = 24, 16, 8
    label_right, bars_left, bars_right = 204, 212, WIDTH - 64
    highest = max((value for _, value in rows), default=0) or 1
    body: list[str] = []
    for i, (label, value) in enumerate(rows):
        y = top + i * row_height
        width = (bars_right - bars_left) * value / highest
        shown = label if len(label) <= 30 else label[:29].rstrip() + "…"
        body.append(
            _el(
                "text",
                shown,
                class_="chart-label",
                x=label_right,
                y=y + bar_height / 2,
                text_anchor="end",
                dominant_baseline="middle",
                fill="currentColor",
            )
        )
        body.append(
            _el(
                "rect",
                _el("title", f"{label}{text['colon']}{_int(value, text)}"),
                class_="chart-bar",
                x=bars_left,
                y=y,
                width=width,
                height=bar_height,
                **_fill_attrs(_APPROVED_FILL, uid),
            )
        )
        body.append(
            _el(
                "text",
                _int(value, text),
                class_="chart-value",
                x=bars_left + width + 6,
                y=y + bar_height / 2,
                dominant_baseline="middle",
                fill="currentColor",
            )
        )
    height = top + max(len(rows), 1) * row_height + 8
    if not rows:
        body.append(
            _el(
                "text",
                text["no_data"],
                class_="chart-message",
                x=WIDTH / 2,
                y=top + 12,
                text_anchor="middle",
                fill="currentColor",
            )
        )
    if desc is None:
        desc = (
            text["list_separator"].join(
                f"{label}{text['colon']}{_int(value, text)}" for label, value in rows
            )
            + "."
            if rows
            else text["no_data"]
        )
    return _svg("bars", uid, height, title, desc, body, "")


def stacked_bars_svg(
    days: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
    desc: str | None = None,
) -> Markup:
    """Vertical stacked bars: one column per day, one segment per series, bottom up.

    `series` maps a key (looked up in `labels` for its name: "publish", "hold", "reject",
    "nudge", "pending" are known) to one count per day. Series are painted solid, dotted,
    hatched, cross-hatched, ringed in their order. One ``rect.chart-bar`` per day and series,
    zero ones included; day labels are thinned out to about a dozen (fewer when long).
    """
    text = _labels(labels)
    for key, counts in series.items():
        if len(counts) != len(days):
            raise ValueError(f"series {key!r} needs one count per day")
        _check_counts(counts)
    uid = _uid("stacked", title, days, sorted(series.items()))
    keys = list(series)
    fills = {key: _FILLS[i % len(_FILLS)] for i, key in enumerate(keys)}
    legend, legend_height = _legend([("swatch", _name(key, text), fills[key]) for key in keys], uid)
    plot = _Plot(legend_height + 16)
    totals = [sum(series[key][i] for key in keys) for i in range(len(days))]
    ticks = _count_ticks(max(totals, default=0))
    body = [legend, plot.y_axis(ticks, text, text["count_axis"]), plot.x_axis_line()]
    n = len(days)
    slot = plot.width / max(n, 1)
    bar = min(slot * 0.7, 48)
    longest = max((len(str(day)) for day in days), default=1)
    fit = max(1, int(plot.width // (0.6 * _FONT * longest + 8)))  # labels that fit side by side
    every = max(1, math.ceil(n / min(12, fit)))
    for i, day in enumerate(days):
        x = plot.left + i * slot + (slot - bar) / 2
        base = plot.bottom
        for key in keys:
            value = series[key][i]
            height = plot.height * value / ticks[-1]
            base -= height
            body.append(
                _el(
                    "rect",
                    _el("title", f"{day} — {_name(key, text)}{text['colon']}{_int(value, text)}"),
                    class_=f"chart-bar chart-bar--{fills[key].name}",
                    data_series=key,
                    x=x,
                    y=base,
                    width=bar,
                    height=height,
                    **_fill_attrs(fills[key], uid),
                )
            )
        if i % every == 0:
            centre, half = plot.left + (i + 0.5) * slot, 0.3 * _FONT * len(str(day))
            anchor = "end" if centre + half > WIDTH - 2 else "middle"  # never cut at the edge
            body.append(
                _el(
                    "text",
                    day,
                    class_="chart-tick-label",
                    x=plot.left + (i + 1) * slot if anchor == "end" else centre,
                    y=plot.bottom + 18,
                    text_anchor=anchor,
                    fill="currentColor",
                )
            )
    if not days:
        body.append(plot.message(text["no_data"]))
    if desc is None:
        desc = (
            text["list_separator"].join(
                f"{day}{text['colon']}"
                + ", ".join(f"{_name(key, text)} {_int(series[key][i], text)}" for key in keys)
                for i, day in enumerate(days)
            )
            + "."
            if days
            else text["no_data"]
        )
    return _svg("stacked", uid, plot.total_height, title, desc, body, _defs(uid))


# --------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------


class _Plot:
    """The plotting area: x and y from 0 to 1 (or to the top tick), below a legend."""

    def __init__(self, top: float) -> None:
        self.left = float(_PLOT_LEFT)
        self.right = float(_PLOT_RIGHT)
        self.top = float(top)
        self.bottom = self.top + _PLOT_HEIGHT
        self.width = self.right - self.left
        self.height = float(_PLOT_HEIGHT)
        self.total_height = self.bottom + _BELOW_PLOT

    def x(self, value: float) -> float:
        return self.left + value * self.width

    def y(self, share: float) -> float:
        return self.bottom - share * self.height

    def x_axis_line(self) -> str:
        """The x axis itself: a line along the bottom of the plot."""
        return _el(
            "line",
            class_="chart-axis chart-axis--x",
            x1=self.left,
            x2=self.right,
            y1=self.bottom,
            y2=self.bottom,
            stroke="currentColor",
        )

    def x_axis_unit(self, text: Mapping[str, str], title: str) -> str:
        """The x axis from 0 to 1, a tick every 0.1, and its title."""
        parts = [self.x_axis_line()]
        for i in range(11):
            x = self.x(i / 10)
            parts.append(
                _el(
                    "line",
                    class_="chart-tick",
                    x1=x,
                    x2=x,
                    y1=self.bottom,
                    y2=self.bottom + 4,
                    stroke="currentColor",
                )
            )
            parts.append(
                _el(
                    "text",
                    _decimal(i / 10, text),
                    class_="chart-tick-label",
                    x=x,
                    y=self.bottom + 18,
                    text_anchor="middle",
                    fill="currentColor",
                )
            )
        parts.append(
            _el(
                "text",
                title,
                class_="chart-axis-title",
                x=(self.left + self.right) / 2,
                y=self.bottom + 38,
                text_anchor="middle",
                fill="currentColor",
            )
        )
        return "".join(parts)

    def y_axis(self, ticks: Sequence[int], text: Mapping[str, str], title: str) -> str:
        """A count axis with grid lines at `ticks` (the last one is the top)."""
        return self._y_axis([(t / ticks[-1], _int(t, text)) for t in ticks], title)

    def y_axis_share(self, text: Mapping[str, str], title: str) -> str:
        """A share axis from 0 % to 100 %, a tick every 20 %."""
        return self._y_axis([(i / 5, _pct(i / 5, text)) for i in range(6)], title)

    def _y_axis(self, ticks: Sequence[tuple[float, str]], title: str) -> str:
        parts = [
            _el(
                "line",
                class_="chart-axis chart-axis--y",
                x1=self.left,
                x2=self.left,
                y1=self.top,
                y2=self.bottom,
                stroke="currentColor",
            )
        ]
        for share, label in ticks:
            y = self.y(share)
            if share:
                parts.append(
                    _el(
                        "line",
                        class_="chart-grid",
                        x1=self.left,
                        x2=self.right,
                        y1=y,
                        y2=y,
                        stroke="currentColor",
                        stroke_opacity=0.15,
                    )
                )
            parts.append(
                _el(
                    "text",
                    label,
                    class_="chart-tick-label",
                    x=self.left - 6,
                    y=y,
                    text_anchor="end",
                    dominant_baseline="middle",
                    fill="currentColor",
                )
            )
        middle = (self.top + self.bottom) / 2
        parts.append(
            _el(
                "text",
                title,
                class_="chart-axis-title",
                x=-middle,
                y=14,
                transform="rotate(-90)",
                text_anchor="middle",
                fill="currentColor",
            )
        )
        return "".join(parts)

    def message(self, message: str) -> str:
        return _el(
            "text",
            message,
            class_="chart-message",
            x=(self.left + self.right) / 2,
            y=(self.top + self.bottom) / 2,
            text_anchor="middle",
            fill="currentColor",
        )


def _vertical(plot: _Plot, value: float, stroke: _Stroke, classes: str, tooltip: str) -> str:
    x = plot.x(value)
    return _el(
        "line",
        _el("title", tooltip),
        class_=classes,
        data_value=_n(value, 4),
        x1=x,
        x2=x,
        y1=plot.top - 4,
        y2=plot.bottom,
        **_stroke_attrs(stroke),
    )


def _legend(items: Sequence[tuple[str, str, _Fill | _Stroke]], uid: str) -> tuple[str, float]:
    """Legend entries left to right, wrapping; returns the markup and the height used."""
    parts = ['<g class="chart-legend">']
    x, y, row = float(_PLOT_LEFT), 8.0, 18.0
    for kind, label, paint in items:
        width = 30 + 0.6 * _FONT * len(label)
        if x + width > WIDTH - 8 and x > _PLOT_LEFT:
            x, y = float(_PLOT_LEFT), y + row
        if kind == "swatch" and isinstance(paint, _Fill):
            parts.append(
                _el(
                    "rect",
                    class_="chart-legend-swatch",
                    x=x,
                    y=y,
                    width=14,
                    height=14,
                    **_fill_attrs(paint, uid),
                )
            )
        elif isinstance(paint, _Stroke):
            parts.append(
                _el(
                    "line",
                    class_="chart-legend-line",
                    x1=x,
                    x2=x + 22,
                    y1=y + 7,
                    y2=y + 7,
                    **_stroke_attrs(paint),
                )
            )
        parts.append(
            _el(
                "text",
                label,
                class_="chart-legend-label",
                x=x + 28,
                y=y + 7,
                dominant_baseline="middle",
                fill="currentColor",
            )
        )
        x += width + 16
    parts.append("</g>")
    return "".join(parts), y + row


def _defs(uid: str) -> str:
    patterns = "".join(
        f'<pattern id="{uid}-{f.name}" width="6" height="6" patternUnits="userSpaceOnUse"'
        + (' patternTransform="rotate(45)"' if f.name == "hatch" else "")
        + f">{f.pattern}</pattern>"
        for f in _FILLS
        if f.pattern
    )
    return f"<defs>{patterns}</defs>"


def _fill_attrs(fill: _Fill, uid: str) -> dict[str, object]:
    paint = f"url(#{uid}-{fill.name})" if fill.pattern else fill.fill
    return {"fill": paint, "stroke": fill.stroke, "stroke_width": 1}


def _stroke_attrs(stroke: _Stroke) -> dict[str, object]:
    attrs: dict[str, object] = {"stroke": stroke.color, "stroke_width": stroke.width}
    if stroke.dash:
        attrs["stroke_dasharray"] = stroke.dash
    return attrs


def _svg(
    kind: str, uid: str, height: float, title: str, desc: str, body: list[str], defs: str
) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'class="chart chart--{kind}" role="img" aria-labelledby="{uid}-title {uid}-desc" '
        f'font-family="system-ui, sans-serif" font-size="{_FONT}">'
        f'<title id="{uid}-title">{escape(title)}</title>'
        f'<desc id="{uid}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + defs + "".join(body) + "</svg>")


def _el(tag: str, content: str | None = None, /, **attrs: object) -> str:
    """One element. Attribute names: a trailing _ dropped, other _ become -. Text is escaped;
    `content` is escaped unless it is markup made here (a nested element)."""
    rendered = []
    for name, value in attrs.items():
        if value is None:
            continue
        key = name.rstrip("_").replace("_", "-")
        shown = (
            _n(value) if isinstance(value, float | int) and not isinstance(value, bool) else value
        )
        rendered.append(f' {key}="{escape(str(shown))}"')
    if content is None:
        return f"<{tag}{''.join(rendered)}/>"
    inner = content if isinstance(content, _Nested) else escape(content)
    return _Nested(f"<{tag}{''.join(rendered)}>{inner}</{tag}>")


class _Nested(str):
    """Markup produced by `_el`: nested as is, never escaped twice."""


def _uid(kind: str, *data: object) -> str:
    """An id prefix stable for the same chart (so pages render the same) and unlikely to clash
    between two charts of one page."""
    return f"chart-{kind}-{hashlib.sha1(repr(data).encode()).hexdigest()[:10]}"


def _count_ticks(maximum: int, wanted: int = 5) -> list[int]:
    """0, step, 2·step, … up to the first tick at or above `maximum`; step 1, 2 or 5 × 10ⁿ."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / wanted
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    whole = max(1, round(step))
    top = -(-maximum // whole) * whole
    return list(range(0, top + 1, whole))


def _nearest(
    points: Sequence[tuple[float, ...]], threshold: float | None
) -> tuple[float, ...] | None:
    if threshold is None or not points:
        return None
    return min(points, key=lambda p: abs(p[0] - threshold))


def _describe_point(p: Sequence[float], text: Mapping[str, str]) -> str:
    return _format(
        text["desc_point"],
        threshold=_num(p[0], text),
        agreement=_pct(p[1], text),
        workload=_pct(p[2], text),
        false_publish=_pct(p[3], text) if len(p) >= 4 else "–",
    )


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {key: str(value) for key, value in {**DEFAULT_LABELS, **(labels or {})}.items()}


def _name(key: str, text: Mapping[str, str]) -> str:
    return text.get(key, key.replace("_", " "))


def _format(template: str, **values: object) -> str:
    return template.format(**values)


def _n(value: float, digits: int = 2) -> str:
    """A coordinate: at most `digits` decimals, no trailing zeros, never « -0 »."""
    shown = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def _num(value: float, text: Mapping[str, str]) -> str:
    """A threshold for people: two decimals, the local decimal mark (0,50)."""
    return f"{value:.2f}".replace(".", text["decimal"])


def _decimal(value: float, text: Mapping[str, str]) -> str:
    """A tick: as few decimals as needed (0, 0,1 … 1)."""
    return _n(value, 2).replace(".", text["decimal"])


def _pct(share: float, text: Mapping[str, str]) -> str:
    """A share as a percentage, one decimal at most (98 %, 98,5 %)."""
    return _n(share * 100, 1).replace(".", text["decimal"]) + text["percent"]


def _int(value: int, text: Mapping[str, str]) -> str:
    return f"{value:,}".replace(",", text["thousands"])


def _check_counts(counts: Sequence[int]) -> None:
    if any(c < 0 for c in counts):
        raise ValueError("counts cannot be negative")


def _check_unit(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{value!r} lies outside [0, 1]")
