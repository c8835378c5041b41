"""Server-side SVG charts, table-driven: valid XML, accessible, no inline style, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from markupsafe import Markup

from app.charts import DEFAULT_LABELS, bars_svg, curve_svg, histogram_svg, stacked_bars_svg
from app.simulation import calibrate_category

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "« <script>alert('x')</script> » & co"

CURVE = calibrate_category("toxicity", [0.1, 0.2, 0.3], [0.6, 0.9]).curve


def charts(title: str, label: str = "lundi") -> dict[str, Callable[[], Markup]]:
    """Every chart, drawn with `title` (and `label` as data text where there is one)."""
    return {
        "histogram": lambda: histogram_svg(
            [3, 1, 0, 0], [0, 0, 2, 5], hold=0.5, reject=0.9, suggested=0.62, title=title
        ),
        "curve": lambda: curve_svg(CURVE, target=0.98, suggested=0.31, title=title),
        "bars": lambda: bars_svg([(label, 12), ("mardi", 30)], title=title),
        "stacked": lambda: stacked_bars_svg(
            [label, "mardi"], {"publish": [10, 12], "hold": [2, 0], "reject": [1, 3]}, title=title
        ),
    }


KINDS = list(charts("x"))


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if cls in e.get("class", "").split()]


def num(element: ET.Element, name: str) -> float:
    return float(element.get(name, "nan"))


def x_axis(root: ET.Element) -> tuple[float, float]:
    (axis,) = by_class(root, "line", "chart-axis--x")
    return num(axis, "x1"), num(axis, "x2")


def y_axis(root: ET.Element) -> tuple[float, float]:
    """(top, bottom) of the plot."""
    (axis,) = by_class(root, "line", "chart-axis--y")
    return num(axis, "y1"), num(axis, "y2")


# --------------------------------------------------------------------------------------------
# Every chart
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_valid_accessible_svg(kind):
    markup = charts("Commentaires par jour")[kind]()
    assert isinstance(markup, Markup)
    root = parse(markup)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("viewBox", "").startswith("0 0 640 ")
    assert root.get("width") is None and root.get("height") is None  # sized by its class
    assert "chart" in root.get("class", "").split()
    title, desc = root.find(SVG + "title"), root.find(SVG + "desc")
    assert title is not None and title.text == "Commentaires par jour"
    assert desc is not None and desc.text and len(desc.text) > 10
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert list(root)[:2] == [title, desc]
    assert root.findall(f".//{SVG}text"), "visible text labels"


@pytest.mark.parametrize("kind", KINDS)
def test_no_inline_style_anywhere(kind):
    markup = charts("x")[kind]()
    root = parse(markup)
    assert all("style" not in element.attrib for element in root.iter())
    assert root.find(f".//{SVG}style") is None
    assert "style=" not in markup and "<style" not in markup and "<script" not in markup


@pytest.mark.parametrize("kind", KINDS)
def test_title_is_escaped(kind):
    markup = charts(HOSTILE)[kind]()
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)
    assert root.find(SVG + "title").text == HOSTILE  # same text once parsed back


@pytest.mark.parametrize("kind", ["bars", "stacked"])
def test_data_labels_are_escaped(kind):
    markup = charts("x", label=HOSTILE)[kind]()
    assert "<script>" not in markup
    parse(markup)  # still valid XML


@pytest.mark.parametrize("kind", KINDS)
def test_same_input_same_markup_and_ids_differ_between_charts(kind):
    assert charts("a")[kind]() == charts("a")[kind]()
    ids = {parse(charts(t)[kind]()).find(SVG + "title").get("id") for t in ("a", "b")}
    assert len(ids) == 2


def test_pattern_fills_point_at_defined_patterns():
    for kind in ("histogram", "stacked"):
        root = parse(charts("x")[kind]())
        defined = {p.get("id") for p in root.iter(SVG + "pattern")}
        used = {e.get("fill")[5:-1] for e in root.iter() if e.get("fill", "").startswith("url(#")}
        assert used and used <= defined


# --------------------------------------------------------------------------------------------
# Histogram
# --------------------------------------------------------------------------------------------


def test_histogram_one_rect_per_bar_heights_proportional():
    approved, rejected = [4, 2, 0, 0, 1], [0, 0, 1, 3, 8]
    root = parse(histogram_svg(approved, rejected, title="t"))
    for key, counts in (("approved", approved), ("rejected", rejected)):
        rects = by_class(root, "rect", f"chart-bar--{key}")
        assert len(rects) == len(counts)
        heights = [num(r, "height") for r in rects]
        assert heights[counts.index(0)] == 0
        unit = heights[counts.index(max(counts))] / max(counts)
        assert heights == pytest.approx([c * unit for c in counts], abs=0.02)
    bars = by_class(root, "rect", "chart-bar")
    left, right = x_axis(root)
    assert min(num(r, "x") for r in bars) >= left
    assert max(num(r, "x") + num(r, "width") for r in bars) <= right + 0.01
    # within each bin, approved stands left of rejected
    a, r = (
        by_class(root, "rect", "chart-bar--approved"),
        by_class(root, "rect", "chart-bar--rejected"),
    )
    assert all(num(x, "x") < num(y, "x") for x, y in zip(a, r, strict=True))


@pytest.mark.parametrize(
    ("hold", "reject", "suggested"),
    [(0.5, 0.9, 0.62), (0.0, 1.0, None), (None, None, 0.25), (None, None, None)],
)
def test_histogram_threshold_lines_at_the_right_x(hold, reject, suggested):
    root = parse(
        histogram_svg([1] * 20, [1] * 20, hold=hold, reject=reject, suggested=suggested, title="t")
    )
    left, right = x_axis(root)
    for key, value in (("hold", hold), ("reject", reject), ("suggested", suggested)):
        lines = by_class(root, "line", f"chart-threshold--{key}")
        if value is None:
            assert lines == []
            continue
        (line,) = lines
        assert num(line, "x1") == num(line, "x2") == pytest.approx(left + value * (right - left))
        assert line.find(SVG + "title") is not None


def test_histogram_legend_and_desc_mention_thresholds():
    markup = histogram_svg([1, 0], [0, 2], hold=0.5, reject=0.9, suggested=None, title="t")
    root = parse(markup)
    legend = [t.text for t in root.iter(SVG + "text") if "chart-legend-label" in t.get("class")]
    assert legend == [
        "Approuvés par les modérateurs",
        "Rejetés par les modérateurs",
        "Seuil de mise en attente (0,50)",
        "Seuil de rejet (0,90)",
    ]
    desc = root.find(SVG + "desc").text
    assert "1 commentaires approuvés et 2 rejetés" in desc and "Seuil de rejet : 0,90" in desc


def test_histogram_labels_can_be_translated():
    root = parse(
        histogram_svg(
            [1], [1], title="t", labels={"approved": "Approved", "decimal": "."}, hold=0.5
        )
    )
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "Approved" in texts and "Seuil de mise en attente (0.50)" in texts
    assert "0.5" in texts  # x tick


def test_histogram_with_no_data():
    root = parse(histogram_svg([0] * 20, [0] * 20, title="t"))
    assert len(by_class(root, "rect", "chart-bar")) == 40
    assert str(DEFAULT_LABELS["no_data"]) in root.find(SVG + "desc").text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"approved": [1, 2], "rejected": [1]},  # different bins
        {"approved": [], "rejected": []},
        {"approved": [-1], "rejected": [1]},
        {"approved": [1], "rejected": [1], "hold": 1.5},
        {"approved": [1], "rejected": [1], "suggested": -0.1},
    ],
)
def test_histogram_refuses_bad_input(kwargs):
    with pytest.raises(ValueError):
        histogram_svg(title="t", **kwargs)


# --------------------------------------------------------------------------------------------
# Curve
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("false_publish", "curves"),
    [(True, ["agreement", "workload", "false_publish"]), (False, ["agreement", "workload"])],
)
def test_curve_lines(false_publish, curves):
    root = parse(
        curve_svg(CURVE, target=0.98, suggested=0.31, title="t", false_publish=false_publish)
    )
    lines = by_class(root, "polyline", "chart-curve")
    assert [line.get("class").split("--")[1] for line in lines] == curves
    left, right = x_axis(root)
    top, bottom = y_axis(root)
    agreement = lines[0].get("points").split()
    assert len(agreement) == len(CURVE)
    for (x, y), point in zip((p.split(",") for p in agreement), CURVE, strict=True):
        assert float(x) == pytest.approx(left + point.threshold * (right - left), abs=0.01)
        assert float(y) == pytest.approx(bottom - point.agreement * (bottom - top), abs=0.01)


@pytest.mark.parametrize(("target", "suggested"), [(0.98, 0.31), (0.5, None), (1.0, 0.0)])
def test_curve_target_and_suggestion_markers(target, suggested):
    root = parse(curve_svg(CURVE, target=target, suggested=suggested, title="t"))
    left, right = x_axis(root)
    top, bottom = y_axis(root)
    (line,) = by_class(root, "line", "chart-target")
    assert num(line, "y1") == num(line, "y2") == pytest.approx(bottom - target * (bottom - top))
    marks = by_class(root, "line", "chart-threshold--suggested")
    if suggested is None:
        assert marks == [] and by_class(root, "circle", "chart-marker") == []
    else:
        (mark,) = marks
        assert num(mark, "x1") == pytest.approx(left + suggested * (right - left))
        assert len(by_class(root, "circle", "chart-marker")) == 3


def test_curve_desc_gives_the_suggestion_in_words():
    desc = parse(curve_svg(CURVE, target=0.98, suggested=0.31, title="t")).find(SVG + "desc").text
    assert "Objectif d’accord : 98\u00a0%" in desc
    assert "Seuil suggéré : 0,31 — au seuil 0,31 : accord 100\u00a0%, à modérer 40\u00a0%" in desc


def test_curve_accepts_plain_tuples_and_no_data():
    root = parse(curve_svg([(0.0, 0.5, 1.0), (1.0, 0.5, 0.0)], target=0.9, title="t"))
    assert len(by_class(root, "polyline", "chart-curve")) == 2  # no fourth value
    empty = parse(curve_svg([], target=0.9, suggested=None, title="t"))
    assert by_class(empty, "polyline", "chart-curve") == []
    assert by_class(empty, "text", "chart-message")[0].text == DEFAULT_LABELS["no_data"]


@pytest.mark.parametrize(
    ("curve", "target", "suggested"),
    [([(0.5, 1.2, 0.0, 0.0)], 0.9, None), ([], 1.1, None), ([], 0.9, 2.0)],
)
def test_curve_refuses_values_outside_unit_interval(curve, target, suggested):
    with pytest.raises(ValueError):
        curve_svg(curve, target=target, suggested=suggested, title="t")


# --------------------------------------------------------------------------------------------
# Bars
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows",
    [
        [("lundi", 12), ("mardi", 30), ("mercredi", 0)],
        [("Un titre d’article vraiment beaucoup trop long pour la colonne", 5)],
        [("seul", 0)],
    ],
)
def test_bars_one_rect_per_row_widths_proportional(rows):
    root = parse(bars_svg(rows, title="t"))
    rects = by_class(root, "rect", "chart-bar")
    assert len(rects) == len(rows)
    widths = [num(r, "width") for r in rects]
    top = max(v for _, v in rows)
    if top:
        unit = max(widths) / top
        assert widths == pytest.approx([v * unit for _, v in rows], abs=0.02)
    else:
        assert widths == [0] * len(rows)
    values = [t.text for t in by_class(root, "text", "chart-value")]
    assert values == [str(v) for _, v in rows]
    # the full label is kept in the tooltip and the description
    assert [r.find(SVG + "title").text for r in rects] == [f"{k} : {v}" for k, v in rows]
    assert all(k in root.find(SVG + "desc").text for k, _ in rows)


def test_long_bar_labels_are_cut():
    label = "Un titre d’article vraiment beaucoup trop long pour la colonne"
    (shown,) = by_class(parse(bars_svg([(label, 1)], title="t")), "text", "chart-label")
    assert shown.text.endswith("…") and len(shown.text) <= 30


def test_bars_without_rows():
    root = parse(bars_svg([], title="t"))
    assert by_class(root, "rect", "chart-bar") == []
    assert by_class(root, "text", "chart-message")[0].text == DEFAULT_LABELS["no_data"]


def test_bars_refuse_negative_counts():
    with pytest.raises(ValueError):
        bars_svg([("a", -1)], title="t")


# --------------------------------------------------------------------------------------------
# Stacked bars
# --------------------------------------------------------------------------------------------


def test_stacked_one_rect_per_day_and_series_stacked_bottom_up():
    days = ["1 mai", "2 mai", "3 mai"]
    series = {"publish": [10, 0, 4], "hold": [2, 0, 4], "reject": [3, 0, 0]}
    root = parse(stacked_bars_svg(days, series, title="t"))
    rects = by_class(root, "rect", "chart-bar")
    assert len(rects) == len(days) * len(series)
    top, bottom = y_axis(root)
    per_day = [rects[i * 3 : i * 3 + 3] for i in range(len(days))]
    for segments in per_day:
        assert [s.get("data-series") for s in segments] == list(series)
        base = bottom
        for segment in segments:  # each one sits on the previous one
            assert num(segment, "y") + num(segment, "height") == pytest.approx(base, abs=0.01)
            base = num(segment, "y")
        assert len({num(s, "x") for s in segments}) == 1
    # heights are proportional to counts
    unit = num(per_day[0][0], "height") / 10
    assert num(per_day[2][1], "height") == pytest.approx(4 * unit, abs=0.02)
    legend = [t.text for t in by_class(root, "text", "chart-legend-label")]
    assert legend == ["Publiés automatiquement", "Mis en attente", "Rejetés automatiquement"]
    assert "1 mai : Publiés automatiquement 10" in root.find(SVG + "desc").text


@pytest.mark.parametrize(("n", "shown"), [(3, 3), (12, 12), (30, 10), (31, 11)])
def test_stacked_day_labels_are_thinned_out(n, shown):
    days = [f"j{i}" for i in range(n)]
    root = parse(stacked_bars_svg(days, {"publish": [1] * n}, title="t"))
    ticks = [t.text for t in by_class(root, "text", "chart-tick-label") if t.text in days]
    assert len(ticks) == shown and ticks[0] == "j0"


def test_long_day_labels_do_not_overlap():
    days = [f"2024-05-{i:02d}" for i in range(1, 32)]
    root = parse(stacked_bars_svg(days, {"publish": [1] * 31}, title="t"))
    ticks = [t for t in by_class(root, "text", "chart-tick-label") if t.text in days]
    xs = [num(t, "x") for t in ticks]
    assert 3 <= len(ticks) < 12
    assert min(b - a for a, b in zip(xs, xs[1:], strict=False)) >= 0.6 * 12 * 10


def test_stacked_without_days():
    root = parse(stacked_bars_svg([], {"publish": []}, title="t"))
    assert by_class(root, "rect", "chart-bar") == []
    assert by_class(root, "text", "chart-message")[0].text == DEFAULT_LABELS["no_data"]


@pytest.mark.parametrize("series", [{"publish": [1]}, {"publish": [1, -2]}])
def test_stacked_refuses_bad_series(series):
    with pytest.raises(ValueError):
        stacked_bars_svg(["a", "b"], series, title="t")
