"""Charts about customers and segments: PCA, boxplots, profiles, loadings, k, cleaning.

Example:
    >>> from basketlens.report._charts_customers import pca_segments
    >>> pca_segments(load_bundle("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import altair as alt
import polars as pl

from basketlens.report._chart_base import (
    MAX_BOX_CUSTOMERS,
    MAX_POINTS,
    WIDTH,
    chart_data,
    display_sample,
    feature_keys,
    plain,
    segment_scale,
    truncate,
    with_segment,
    with_segment_lookup,
)
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


def feature_boxplots(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Distributions of each segmentation feature by segment, standardised across customers."""
    feats = bundle.features
    if not feats:
        return None
    sample = display_sample(bundle.customers, MAX_BOX_CUSTOMERS)
    frame = pl.concat(
        [
            sample.select(
                pl.col("segment").alias("seg"),
                feature=pl.lit(plain(f)),
                value=pl.col(f).cast(pl.Float64).round_sig_figs(4),
            )
            for f in feats
        ]
    )
    return (
        with_segment_lookup(alt.Chart(chart_data(frame)), bundle)
        .transform_joinaggregate(mu="mean(value)", sd="stdev(value)", groupby=["feature"])
        .transform_calculate(z="datum.sd > 0 ? (datum.value - datum.mu) / datum.sd : 0")
        .mark_boxplot(size=14, extent="min-max")
        .encode(
            x=alt.X("seg_label:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("z:Q", title="Standardised value (0 = average customer)"),
            color=alt.Color("seg_label:N", scale=segment_scale(bundle), title="Segment"),
        )
        .properties(width=150, height=150)
        .facet(facet=alt.Facet("feature:N", title=None, sort=[plain(f) for f in feats]), columns=3)
        .properties(title="How segments differ on each feature (boxplots, standardised)")
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
