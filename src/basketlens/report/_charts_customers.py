"""Charts about customers and segments: PCA, boxplots, profiles, loadings, k, cleaning.

Example:
    >>> from basketlens.report._charts_customers import pca_segments
    >>> pca_segments(load_bundle("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
from typing import Any

import altair as alt
import polars as pl

from basketlens.report import formats
from basketlens.report._chart_base import (
    MAX_POINTS,
    WIDTH,
    RawSpec,
    chart_data,
    display_sample,
    feature_keys,
    plain,
    records,
    segment_label,
    segment_scale,
    truncate,
    with_segment,
    with_segment_lookup,
)
from basketlens.report.columns import column_kind
from basketlens.runfolder.analysis import Analysis


def pca_segments(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Customers on the first two principal components, coloured by segment, centroids marked."""
    cust = bundle.customers
    if not {"pca_1", "pca_2"} <= set(cust.columns):
        return None
    feats = bundle.features[:4]
    keys = feature_keys(feats)
    frame = display_sample(cust, MAX_POINTS).select(
        pl.col("customer_name").cast(pl.String).alias("name"),
        pl.col("segment").alias("seg"),
        pl.col("pca_1").round(3),
        pl.col("pca_2").round(3),
        *[pl.col(f).round_sig_figs(4).alias(keys[f]) for f in feats],
    )
    explained = bundle.info.get("segmentation", {}).get("pca_explained") or [None, None]
    ax = [
        f"Principal component {i + 1}" + (f" ({e:.0%} of variance)" if e is not None else "")
        for i, e in enumerate(explained[:2])
    ]
    colour = alt.Color("seg_label:N", scale=segment_scale(bundle), title="Segment")
    base = with_segment_lookup(alt.Chart(chart_data(frame)), bundle)
    points = base.mark_circle(size=28, opacity=0.55).encode(
        x=alt.X("pca_1:Q", title=ax[0]),
        y=alt.Y("pca_2:Q", title=ax[1]),
        color=colour,
        tooltip=[
            alt.Tooltip("name:N", title="Customer"),
            alt.Tooltip("seg_label:N", title="Segment"),
            *[alt.Tooltip(f"{keys[f]}:Q", title=plain(f), format=",.2f") for f in feats],
        ],
    )
    centroids = base.mark_point(
        shape="cross", size=320, filled=True, stroke="black", strokeWidth=1.2, opacity=1
    ).encode(
        x="mean(pca_1):Q",
        y="mean(pca_2):Q",
        color=alt.Color("seg_label:N", scale=segment_scale(bundle), legend=None),
        tooltip=[alt.Tooltip("seg_label:N", title="Segment centre")],
    )
    title = "Customers by segment (first two principal components; crosses mark segment centres)"
    if frame.height < cust.height:
        title += f" — random sample of {frame.height:,} of {cust.height:,}"
    return (points + centroids).properties(width=WIDTH, height=380, title=title)


#: Whiskers reach the furthest customer within this many box heights (Tukey's fences).
WHISKER_IQR = 1.5
#: A panel uses a log axis when its whiskers span more than this ratio (and stay above 0).
LOG_RATIO = 100.0


def box_stats(bundle: Analysis, feature: str) -> pl.DataFrame:
    """Per segment: quartiles, whisker ends (Tukey) and how many customers lie beyond them.

    Columns ``seg``, ``n``, ``q1``, ``median``, ``q3``, ``lo``, ``hi``, ``n_low``, ``n_high``,
    ``min``, ``max``; computed over every customer (no sample), for display only.

    Example:
        >>> box_stats(bundle, "total_net_sales").columns[:3]  # doctest: +SKIP
        ['seg', 'n', 'q1']
    """
    v = pl.col("v")
    iqr = pl.col("q3") - pl.col("q1")
    low_fence = pl.col("q1") - WHISKER_IQR * iqr
    high_fence = pl.col("q3") + WHISKER_IQR * iqr
    return (
        bundle.customers.select(pl.col("segment").alias("seg"), v=pl.col(feature).cast(pl.Float64))
        .filter(v.is_finite() & pl.col("seg").is_not_null())
        .with_columns(
            q1=v.quantile(0.25, "linear").over("seg"), q3=v.quantile(0.75, "linear").over("seg")
        )
        .group_by("seg")
        .agg(
            n=pl.len(),
            q1=pl.col("q1").first(),
            median=v.median(),
            q3=pl.col("q3").first(),
            lo=v.filter(v >= low_fence).min(),
            hi=v.filter(v <= high_fence).max(),
            n_low=(v < low_fence).sum(),
            n_high=(v > high_fence).sum(),
            min=v.min(),
            max=v.max(),
        )
        .sort("seg")
    )


_BASKET_TYPE = re.compile(r"basket type (\d+) \(([^;]+);")


def _basket_type_name(feature: str, definitions: dict[str, str]) -> str | None:
    """``mix__1`` in words from its recorded definition: "basket type 1: WHITE HANGING HEART…"
    (None for other features, or a run that did not record the definition).

    Example:
        >>> _basket_type_name("mix__2", {"mix__2": "spend on basket type 2 (PARTY BUNTING; …"})
        'basket type 2: PARTY BUNTING'
    """
    if not feature.startswith("mix__"):
        return None
    found = _BASKET_TYPE.search(definitions.get(feature, ""))
    return f"basket type {found.group(1)}: {found.group(2)}" if found else None


def _feature_unit(feature: str) -> tuple[str, str]:
    """(unit for the panel title, d3 format of its axis) of a feature."""
    kind = column_kind(feature)
    if kind is None:
        return "", ",.3~s"
    if kind.kind == "money":
        unit = formats.active().money_unit()
        return (f"{unit} {kind.per}" if kind.per not in ("", "period") else unit), ",.3~s"
    if kind.kind == "share":
        return "%", ".0%"
    if kind.kind == "days":
        return "days", ",.0f"
    if kind.kind == "count":
        return "count", ",.3~s"
    return "", ",.3~r"


def _box_panel(bundle: Analysis, feature: str, colour: dict[str, Any]) -> dict[str, Any]:
    """One feature: a box per segment on the feature's own axis, the view clipped to the
    whiskers, and a marked count of the customers beyond them (a Vega-Lite layer spec)."""
    stats = box_stats(bundle, feature)
    unit, axis_format = _feature_unit(feature)
    lo = stats["lo"].min()
    hi = stats["hi"].max()
    if axis_format.endswith("~s") and hi is not None and abs(hi) < 1_000:
        axis_format = ",.3~r"  # SI prefixes only from thousands: 0.5, not "500m"
    log = lo is not None and hi is not None and lo > 0 and hi / lo > LOG_RATIO
    labels = {s: segment_label(s, n) for s, n in bundle.segment_names.items()}
    rows = records(
        stats.with_columns(
            seg_label=pl.col("seg").replace_strict(labels, default="?", return_dtype=pl.String),
            above=pl.when(pl.col("n_high") > 0)
            .then("▲ " + pl.col("n_high").cast(pl.String))
            .otherwise(pl.lit("")),
            below=pl.when(pl.col("n_low") > 0)
            .then("▼ " + pl.col("n_low").cast(pl.String))
            .otherwise(pl.lit("")),
        )
    )
    if log:
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        scale: dict[str, Any] = {"type": "log", "padding": 16}
        axis: dict[str, Any] = {"format": axis_format, "values": [10.0**d for d in decades]}
    else:
        scale = {"zero": False, "nice": False, "padding": 16}
        axis = {"format": axis_format, "tickCount": 5}
    tip = [
        {"field": "seg_label", "type": "nominal", "title": "Segment"},
        {"field": "n", "type": "quantitative", "title": "Customers", "format": ","},
        *(
            {"field": f, "type": "quantitative", "title": t, "format": ",.4~r"}
            for f, t in (("median", "Median"), ("q1", "Lower quartile"), ("q3", "Upper quartile"))
        ),
        {"field": "n_high", "type": "quantitative", "title": "Customers above the whisker"},
        {"field": "max", "type": "quantitative", "title": "Highest value", "format": ",.4~r"},
        {"field": "n_low", "type": "quantitative", "title": "Customers below the whisker"},
        {"field": "min", "type": "quantitative", "title": "Lowest value", "format": ",.4~r"},
    ]

    def y(field: str) -> dict[str, Any]:
        return {"field": field, "type": "quantitative"}

    def label(field: str, dy: int) -> dict[str, Any]:
        # the text is empty where no customer lies beyond: nothing is drawn (a filter would
        # leave an empty layer, whose infinite extent Vega warns about; null reads "null")
        text = "above" if field == "hi" else "below"
        return {
            "mark": {"type": "text", "dy": dy, "fontSize": 10, "color": "#333333"},
            "encoding": {"y": y(field), "text": {"field": text, "type": "nominal"}},
        }

    notes = [w for w in (unit, "log scale" if log else "") if w]
    name = _basket_type_name(feature, bundle.feature_definitions) or plain(feature)
    title = name + (f" ({', '.join(notes)})" if notes else "")
    order = list(labels.values())
    return {
        "title": {"text": title, "fontSize": 12, "anchor": "start", "limit": 340},
        "width": max(150, 34 * len(order)),
        "height": 170,
        "data": {"values": rows},
        "encoding": {
            "x": {
                "field": "seg_label",
                "type": "nominal",
                "title": None,
                "sort": order,
                "axis": {"labels": False, "ticks": False},
            },
            "color": colour,
        },
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 1.5},
                "encoding": {
                    "y": {**y("lo"), "title": None, "scale": scale, "axis": axis},
                    "y2": {"field": "hi"},
                    "tooltip": tip,
                },
            },
            {
                "mark": {"type": "bar", "size": 22, "opacity": 0.85},
                "encoding": {"y": y("q1"), "y2": {"field": "q3"}, "tooltip": tip},
            },
            {
                "mark": {"type": "tick", "size": 22, "thickness": 2},
                "encoding": {"y": y("median"), "color": {"value": "black"}, "tooltip": tip},
            },
            label("hi", -8),
            label("lo", 9),
        ],
    }


def feature_boxplots(bundle: Analysis) -> RawSpec | None:
    """Each segmentation feature by segment, one panel per feature on its own scale.

    Real ledgers are skewed: a few customers buy hundreds of times more than the rest, so a
    shared or standardised axis turns the boxes into flat lines. Each panel instead shows the
    feature in its own unit, clipped to the whiskers (log-scaled when they span more than
    100×), and marks how many customers lie beyond the whiskers (▲ above, ▼ below). Written
    as a Vega-Lite dict: six layered panels built through Altair took 0.4 s of CPU.
    """
    feats = bundle.features
    if not feats:
        return None
    order = [segment_label(s, n) for s, n in bundle.segment_names.items()]
    scale = segment_scale(bundle)
    colour = {
        "field": "seg_label",
        "type": "nominal",
        "title": "Segment",
        "sort": order,
        "scale": {"domain": scale.domain, "range": scale.range},
        "legend": {"labelLimit": 360, "orient": "bottom", "direction": "vertical"},
    }
    return RawSpec(
        {
            "$schema": alt.SCHEMA_URL,
            "title": {
                "text": "How segments differ on each feature",
                "subtitle": [
                    "Box: the middle half of the segment's customers; black line: the median; "
                    "whiskers: up to 1.5 box heights.",
                    "▲ / ▼ n: customers beyond the whiskers (left out of the view). Hover for "
                    "the values.",
                ],
            },
            "columns": 3,
            "spacing": 28,
            "concat": [_box_panel(bundle, f, colour) for f in feats],
        }
    )


def pca_loadings(bundle: Analysis) -> alt.TopLevelMixin | None:
    """How much each feature contributes to the two principal components."""
    if bundle.pca_loadings is None or bundle.pca_loadings.is_empty():
        return None
    frame = bundle.pca_loadings.select(
        pl.col("feature")
        .str.replace_all("__", ": ", literal=True)
        .str.replace_all("_", " ", literal=True),
        pl.col("pc_1").alias("Component 1"),
        pl.col("pc_2").alias("Component 2"),
    )
    return (
        alt.Chart(chart_data(frame))
        .transform_fold(["Component 1", "Component 2"], as_=["component", "loading"])
        .mark_bar()
        .encode(
            y=alt.Y("feature:N", title=None, sort=None),
            x=alt.X("loading:Q", title="Loading (weight of the feature in the component)"),
            color=alt.condition("datum.loading >= 0", alt.value("#0072B2"), alt.value("#D55E00")),
            tooltip=["feature:N", "component:N", alt.Tooltip("loading:Q", format=".3f")],
        )
        .properties(width=260, height=22 * frame.height)
        .facet(column=alt.Column("component:N", title=None))
        .properties(title="What the principal components are made of")
    )


def k_selection(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Silhouette and inertia by number of segments, the chosen k marked."""
    ks = bundle.k_selection
    if ks is None or ks.is_empty():
        return None
    base = alt.Chart(chart_data(ks.select("k", "inertia", "silhouette", "chosen")))
    panels = []
    for field, title in (
        ("silhouette", "Silhouette (higher = better separated)"),
        ("inertia", "Inertia (within-segment spread)"),
    ):
        line = base.mark_line(point=True, color="#0072B2").encode(
            x=alt.X("k:O", title="Number of segments (k)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False)),
            tooltip=["k:O", alt.Tooltip(f"{field}:Q", format=".3f")],
        )
        mark = (
            base.transform_filter("datum.chosen")
            .mark_point(size=260, shape="diamond", filled=True, color="#D55E00")
            .encode(x="k:O", y=f"{field}:Q", tooltip=[alt.Tooltip("k:O", title="chosen k")])
        )
        panels.append((line + mark).properties(width=260, height=200))
    return alt.hconcat(*panels).properties(
        title="Choosing the number of segments (orange diamond = chosen k)"
    )


def segment_profiles(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Heat map of each segment's z-score on each feature."""
    zcols = [c for c in bundle.segments.columns if c.startswith("z__")]
    if not zcols:
        return None
    order = [plain(c[3:]) for c in zcols]
    seg = with_segment(bundle.segments.sort("segment"), bundle)
    frame = pl.concat(
        [seg.select("seg_label", feature=pl.lit(plain(c[3:])), z=pl.col(c)) for c in zcols]
    )
    base = alt.Chart(chart_data(frame)).encode(
        x=alt.X("feature:N", title=None, sort=order, axis=alt.Axis(labelAngle=-35, labelLimit=180)),
        y=alt.Y(
            "seg_label:N",
            title=None,
            sort=seg["seg_label"].to_list(),
            axis=alt.Axis(labelLimit=260),
        ),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("z:Q", scale=alt.Scale(scheme="blueorange", domainMid=0), title="z-score"),
        tooltip=[
            alt.Tooltip("seg_label:N", title="Segment"),
            alt.Tooltip("feature:N"),
            alt.Tooltip("z:Q", format="+.2f", title="z-score"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("z:Q", format="+.1f"),
        color=alt.condition("abs(datum.z) > 1.2", alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(
        width=max(240, 70 * len(zcols)),
        height=34 * bundle.segments.height,
        title="Segment profiles: above (orange) or below (blue) the average customer",
    )


def cleaning_waterfall(bundle: Analysis) -> alt.TopLevelMixin | None:
    """The cleaning account as a waterfall: lines read, each rule's drop, lines kept."""
    acc = bundle.cleaning
    if acc is None or acc.is_empty():
        return None
    acc = acc.sort("step")
    rows = [
        {
            "label": "Lines read",
            "start": 0,
            "end": acc["rows_in"][0],
            "kind": "total",
            "dropped": None,
            "description": "lines in the sales file",
        }
    ]
    for r in acc.iter_rows(named=True):
        rows.append(
            {
                "label": truncate(r["rule"].replace("_", " "), 30),
                "start": r["rows_out"],
                "end": r["rows_in"],
                "kind": "dropped",
                "dropped": r["rows_dropped"],
                "description": r["description"],
            }
        )
    rows.append(
        {
            "label": "Lines kept",
            "start": 0,
            "end": acc["rows_out"][-1],
            "kind": "total",
            "dropped": None,
            "description": "lines used for the analysis",
        }
    )
    order = [r["label"] for r in rows]
    base = alt.Chart(chart_data(rows)).encode(
        x=alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
    )
    bars = base.mark_bar(size=34).encode(
        y=alt.Y("start:Q", title="Sales lines", axis=alt.Axis(format="~s")),
        y2="end:Q",
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=["total", "dropped"], range=["#0072B2", "#D55E00"]),
            title=None,
        ),
        tooltip=[
            alt.Tooltip("label:N", title="Step"),
            alt.Tooltip("description:N"),
            alt.Tooltip("dropped:Q", title="Lines dropped", format=","),
            alt.Tooltip("end:Q", title="Lines before", format=","),
        ],
    )
    text = (
        base.transform_filter("datum.kind == 'dropped'")
        .mark_text(dy=-8)
        .encode(y="end:Q", text=alt.Text("dropped:Q", format=","))
    )
    return (bars + text).properties(
        width=WIDTH, height=260, title="Data quality: lines dropped by each cleaning rule"
    )
