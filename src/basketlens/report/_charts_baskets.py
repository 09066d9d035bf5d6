"""Charts about baskets: top items, rules, cross-sell opportunities, backtest, calibration.

Example:
    >>> from basketlens.report._charts_baskets import rules_scatter
    >>> rules_scatter(load_bundle("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import altair as alt
import polars as pl

from basketlens.report._chart_base import (
    MAX_SCATTER_RULES,
    PALETTE,
    chart_data,
    distinct_labels,
    rules_frame,
    scope_label_expr,
    scope_order,
    segment_scale,
    trunc_expr,
    with_segment,
)
from basketlens.runfolder.analysis import Analysis


def top_items(bundle: Analysis, *, top: int = 10) -> alt.TopLevelMixin | None:
    """Support of the most bought items overall and in each segment."""
    sup = bundle.item_support
    if sup is None or sup.is_empty():
        return None
    frame = (
        sup.filter(pl.col("rank") <= top)
        .with_columns(
            scope_label=scope_label_expr(bundle),
            label=trunc_expr(pl.col("item_name").fill_null(pl.col("item"))),
            full=pl.col("item_name").fill_null(pl.col("item")),
        )
        .pipe(distinct_labels, "label", "item", by=["scope"])
        .select("scope_label", "label", "full", "item", "support", "baskets", "rank")
    )
    order = scope_order(bundle)
    return (
        alt.Chart(chart_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("rank")),
            x=alt.X("support:Q", title="Share of baskets", axis=alt.Axis(format="%")),
            color=alt.Color(
                "scope_label:N", scale=segment_scale(bundle, with_all=True), legend=None
            ),
            tooltip=[
                alt.Tooltip("full:N", title="Item"),
                alt.Tooltip("item:N", title="Item id"),
                alt.Tooltip("support:Q", title="Share of baskets", format=".2%"),
                alt.Tooltip("baskets:Q", title="Baskets", format=","),
            ],
        )
        .properties(width=200, height=18 * top)
        .facet(facet=alt.Facet("scope_label:N", title=None, sort=order), columns=3)
        .resolve_scale(y="independent")
        .properties(title=f"Top {top} items by share of baskets, overall and per segment")
    )


#: Calls of each segment's call list whose lead rules the opportunity chart shows.
TOP_CALLS = 50


def rule_opportunities(
    bundle: Analysis, *, top: int = 8, calls: int = TOP_CALLS
) -> alt.TopLevelMixin | None:
    """The spread of rules behind the call list: per segment, how many of its ``calls``
    best calls (by rank) each lead rule accounts for; the rest grouped as "other rules".

    A rule and its mirror read "A ↔ B" (one bar). One long bar means one rule fills the top
    of that segment's list; many short bars, a varied list.
    """
    opp = bundle.opportunities
    if opp is None or opp.is_empty() or "rule" not in opp.columns:
        return None
    best = (
        with_segment(opp.sort("rank"), bundle)
        .with_columns(nth=pl.int_range(1, pl.len() + 1).over("seg_label"))
        .filter(pl.col("nth") <= calls)
    )
    by_rule = (
        best.group_by("seg_label", "rule", maintain_order=True)
        .agg(
            pl.len().alias("calls"),
            pl.col("expected_value").sum().alias("value"),
            pl.col("item_name").n_unique().alias("items"),
            pl.col("rule_id").first(),
        )
        .sort(["seg_label", "calls", "value"], descending=[False, True, True])
        .with_columns(place=pl.int_range(1, pl.len() + 1).over("seg_label"))
    )
    shown = by_rule.filter(pl.col("place") <= top)
    rest = (
        by_rule.filter(pl.col("place") > top)
        .group_by("seg_label")
        .agg(
            pl.len().alias("n_rules"),
            pl.col("calls").max().alias("most"),
            pl.col("calls").sum(),
            pl.col("value").sum(),
            pl.col("items").sum(),
        )
        .with_columns(
            rule=pl.format(
                "{} other rules, at most {} calls each", pl.col("n_rules"), pl.col("most")
            ),
            rule_id=pl.lit(""),
            place=pl.lit(top + 1, pl.Int64),
        )
    )
    frame = pl.concat([shown, rest.select(shown.columns)], how="vertical_relaxed").with_columns(
        label=trunc_expr(pl.col("rule"), 60)
    )
    frame = frame.pipe(distinct_labels, "label", "rule", by=["seg_label"]).select(
        "seg_label", "label", "rule", "rule_id", "calls", "value", "items", "place"
    )
    order = [s for s in scope_order(bundle) if s != "All customers"] + ["unassigned"]
    return (
        alt.Chart(chart_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y(
                "label:N",
                title=None,
                sort=alt.EncodingSortField("place"),
                axis=alt.Axis(labelLimit=380),
            ),
            x=alt.X("calls:Q", title=f"Calls among the segment's top {calls}"),
            # the grouped "other rules" bar in grey: a long grey bar is a varied list
            color=alt.condition(
                alt.datum.place > top,
                alt.value("#B8B8B8"),
                alt.Color("seg_label:N", scale=segment_scale(bundle), legend=None),
            ),
            tooltip=[
                alt.Tooltip("rule:N", title="Lead rule"),
                alt.Tooltip("rule_id:N", title="Rule id"),
                alt.Tooltip("calls:Q", title="Calls it leads", format=","),
                alt.Tooltip("items:Q", title="Items offered", format=","),
                alt.Tooltip("value:Q", title="Expected value per month", format=",.0f"),
            ],
        )
        .properties(width=300, height=20 * (top + 1))
        .facet(facet=alt.Facet("seg_label:N", title=None, sort=order), columns=2)
        .resolve_scale(y="independent")
        .properties(
            title=f"Call list: the rules behind each segment's top {calls} calls "
            "(A ↔ B: a rule and its mirror)"
        )
    )


def rules_scatter(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Every rule as support × confidence, coloured by lift, one panel per scope."""
    frame = rules_frame(bundle)
    if frame is None or frame.is_empty():
        return None
    data = (
        frame.sort("lift", descending=True)
        .group_by("scope", maintain_order=True)
        .head(MAX_SCATTER_RULES)
        .select(
            "scope_label",
            "rule",
            pl.col("support").round_sig_figs(4),
            pl.col("confidence").round(4),
            pl.col("lift").round_sig_figs(4),
        )
    )
    title = "Rules: how common (support) and how reliable (confidence); colour = lift"
    if data.height < frame.height:
        title += f" — the {MAX_SCATTER_RULES:,} highest-lift rules per scope"
    return (
        alt.Chart(chart_data(data))
        .mark_circle(size=40, opacity=0.75)
        .encode(
            x=alt.X("support:Q", title="Support (share of baskets)", axis=alt.Axis(format="%")),
            y=alt.Y("confidence:Q", title="Confidence", axis=alt.Axis(format="%")),
            color=alt.Color("lift:Q", scale=alt.Scale(scheme="viridis", type="log"), title="Lift"),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("scope_label:N", title="Customers"),
                alt.Tooltip("support:Q", format=".2%"),
                alt.Tooltip("confidence:Q", format=".1%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(width=250, height=200)
        .facet(facet=alt.Facet("scope_label:N", title=None, sort=scope_order(bundle)), columns=3)
        .resolve_scale(x="independent")
        .properties(
            title="Rules: how common (support) and how reliable (confidence); colour = lift"
        )
    )


def rules_matrix(bundle: Analysis, *, top: int = 40) -> alt.TopLevelMixin | None:
    """Grouped matrix of the strongest rules over all customers: left side × right side."""
    frame = rules_frame(bundle)
    if frame is None or frame.is_empty():
        return None
    scope = "all" if (frame["scope"] == "all").any() else frame["scope"][0]
    data = (
        frame.filter(pl.col("scope") == scope)
        .sort("lift", descending=True)
        .head(top)
        .with_columns(
            lhs_label=trunc_expr(pl.col("lhs"), 44),
            rhs_label=trunc_expr(pl.col("rhs")),
        )
        .pipe(distinct_labels, "lhs_label", "lhs")
        .pipe(distinct_labels, "rhs_label", "rhs")
        .select("rule_id", "lhs", "rhs", "lhs_label", "rhs_label", "support", "confidence", "lift")
    )
    return (
        alt.Chart(chart_data(data))
        .mark_circle(opacity=0.9)
        .encode(
            x=alt.X("rhs_label:N", title="Then they also buy", axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("lhs_label:N", title="Customers who buy", sort="-color"),
            color=alt.Color("lift:Q", scale=alt.Scale(scheme="viridis"), title="Lift"),
            size=alt.Size("confidence:Q", title="Confidence", legend=alt.Legend(format="%")),
            tooltip=[
                alt.Tooltip("lhs:N", title="Customers who buy"),
                alt.Tooltip("rhs:N", title="Then also buy"),
                alt.Tooltip("support:Q", format=".2%"),
                alt.Tooltip("confidence:Q", format=".1%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(
            width=max(200, 22 * data["rhs"].n_unique()),
            height=max(120, 16 * data["lhs"].n_unique()),
            title=f"The {data.height} strongest rules ({bundle.scope_label(scope)}) as a matrix",
        )
    )


def backtest(bundle: Analysis) -> alt.TopLevelMixin | None:
    """Hit rate (with its 95% interval), precision, recall and NDCG by method at the latest
    split of the backtest, the default recommender marked, when one was run."""
    bt = bundle.backtest
    if bt is None or bt.is_empty() or "method" not in bt.columns:
        return None
    if "split" in bt.columns:
        bt = bt.filter(pl.col("split") == pl.col("split").max())
    metrics = [m for m in ("hit_rate", "precision", "recall", "ndcg") if m in bt.columns]
    if not metrics:
        return None
    default = bt["default"] if "default" in bt.columns else pl.Series([False] * bt.height)
    base = bt.with_columns(
        label=pl.when(default).then(pl.col("method") + " (default)").otherwise(pl.col("method")),
        role=pl.when(default).then(pl.lit("default")).otherwise(pl.lit("baseline")),
    )
    order = base.sort("hit_rate" if "hit_rate" in metrics else metrics[0], descending=True)
    has_interval = "hit_rate_low" in bt.columns and "hit_rate_high" in bt.columns
    frames = []
    for m in metrics:
        value = pl.col(m).cast(pl.Float64)
        interval = has_interval and m == "hit_rate"
        low = pl.col("hit_rate_low").cast(pl.Float64).fill_nan(None) if interval else None
        high = pl.col("hit_rate_high").cast(pl.Float64).fill_nan(None) if interval else None
        frames.append(
            base.select(
                "label",
                "role",
                measure=pl.lit(m.replace("_", " ")),
                value=value,
                # the rule needs numbers everywhere (Vega warns on an empty extent): a measure
                # without an interval gets a zero-length one; the tooltip shows only real ones
                low=value if low is None else low.fill_null(value),
                high=value if high is None else high.fill_null(value),
                ci_low=pl.lit(None, pl.Float64) if low is None else low,
                ci_high=pl.lit(None, pl.Float64) if high is None else high,
            )
        )
    frame = pl.concat(frames)
    y = alt.Y("label:N", title=None, sort=order["label"].to_list())
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            y=y,
            x=alt.X("value:Q", title="Share", axis=alt.Axis(format="%")),
            color=alt.Color(
                "role:N",
                scale=alt.Scale(domain=["default", "baseline"], range=[PALETTE[0], "#b8b8b8"]),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Method"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("value:Q", title="Value", format=".2%"),
                alt.Tooltip("ci_low:Q", title="95% interval from", format=".2%"),
                alt.Tooltip("ci_high:Q", title="to", format=".2%"),
            ],
        )
    )
    interval = alt.Chart().mark_rule(color="#333").encode(y=y, x="low:Q", x2="high:Q")
    return (
        alt.layer(bars, interval, data=chart_data(frame))
        .properties(width=170, height=24 * bt.height)
        .facet(
            column=alt.Column("measure:N", title=None, sort=[m.replace("_", " ") for m in metrics])
        )
        .resolve_scale(x="independent")
        .properties(title="Backtest: do the recommendations come true after the split date?")
    )


def backtest_calibration(bundle: Analysis) -> alt.TopLevelMixin | None:
    """The default recommender's reliability (probability vs share bought by decile) and its
    expected against realised revenue by decile of expected value, at the latest split."""
    cal = bundle.backtest_calibration
    if cal is None or cal.is_empty():
        return None
    cal = cal.filter(pl.col("split") == pl.col("split").max()).drop("split")
    rel = cal.filter(pl.col("by") == "probability")
    money = cal.filter(pl.col("by") == "expected_value")
    top = max(float(rel["mean_probability"].max() or 0), float(rel["hit_share"].max() or 0), 0.05)
    diagonal = (
        alt.Chart(chart_data([{"p": 0.0}, {"p": top}]))
        .mark_line(color="#999", strokeDash=[4, 4])
        .encode(x="p:Q", y="p:Q")
    )
    points = alt.Chart(chart_data(rel)).mark_line(point=True, color=PALETTE[0]).encode(
        x=alt.X("mean_probability:Q", title="Predicted probability (decile mean)",
                axis=alt.Axis(format="%")),
        y=alt.Y("hit_share:Q", title="Share bought", axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("decile:Q", title="Decile"),
            alt.Tooltip("recommendations:Q", title="Recommendations", format=","),
            alt.Tooltip("mean_probability:Q", title="Predicted", format=".1%"),
            alt.Tooltip("hit_share:Q", title="Bought", format=".1%"),
        ],
    )  # fmt: skip
    reliability = (diagonal + points).properties(
        width=260, height=220, title="Reliability: predicted vs bought"
    )
    long = pl.concat(
        [
            money.select("decile", kind=pl.lit("expected"), revenue=pl.col("expected_revenue")),
            money.select("decile", kind=pl.lit("realised"), revenue=pl.col("realised_revenue")),
        ]
    )
    revenue = (
        alt.Chart(chart_data(long))
        .mark_bar()
        .encode(
            x=alt.X("decile:O", title="Decile of expected value"),
            xOffset="kind:N",
            y=alt.Y("revenue:Q", title="Revenue after the split"),
            color=alt.Color("kind:N", scale=alt.Scale(range=[PALETTE[0], PALETTE[1]]), title=None),
            tooltip=[
                alt.Tooltip("decile:O", title="Decile"),
                alt.Tooltip("kind:N", title="Revenue"),
                alt.Tooltip("revenue:Q", title="Amount", format=",.0f"),
            ],
        )
        .properties(width=300, height=220, title="Expected vs realised revenue")
    )
    return alt.hconcat(reliability, revenue).properties(
        title="Backtest: are the probabilities and the money right?"
    )
