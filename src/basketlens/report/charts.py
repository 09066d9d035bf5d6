"""One Altair (Vega-Lite) chart definition per report figure.

Every function takes a :class:`~basketlens.report.load.ReportBundle` and returns a chart, or
``None`` when the folder lacks the table it needs. Data goes into the spec as data values (never
as expression code); field names are fixed by this module, so names from the ledger can never
be read as Vega field paths. The same spec is embedded in ``report.html`` and saved as PNG.

Example:
    >>> from basketlens.report.charts import CHARTS
    >>> [c.slug for c in CHARTS][:2]
    ['pca_segments', 'feature_boxplots']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import polars as pl

from basketlens.report.load import ReportBundle

#: Colour-blind-safe categorical palette (Okabe–Ito, then Paul Tol's muted), one per segment.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#882255", "#117733", "#999933", "#AA4499", "#44AA99", "#888888",
)  # fmt: skip
ALL_COLOUR = "#555555"
WIDTH = 560
#: Customers plotted individually before the PCA chart shows a random sample.
MAX_POINTS = 20_000
#: Customers used for the boxplots before sampling.
MAX_BOX_CUSTOMERS = 5_000
LABEL_CHARS = 38


@dataclass(frozen=True)
class ChartDef:
    """A figure of the report: file/anchor slug, title, section and spec builder."""

    slug: str
    title: str
    section: str
    build: Callable[[ReportBundle], alt.TopLevelMixin | None]
    note: str = ""


def truncate(text: Any, limit: int = LABEL_CHARS) -> str:
    """Shorten a label for an axis; the full text goes in the tooltip.

    Example:
        >>> truncate("Huile d'olive vierge extra Maison Vercel 75cl", 20)
        "Huile d'olive vierg…"
    """
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def segment_label(segment: int, name: str | None) -> str:
    """The label used for a segment in every chart (``"0 · Premium boutique"``)."""
    return truncate(f"{segment} · {name or 'segment ' + str(segment)}", 44)


def segment_scale(bundle: ReportBundle, *, with_all: bool = False) -> alt.Scale:
    """Colour scale mapping each segment label to the same colour in every chart."""
    labels = [segment_label(s, n) for s, n in bundle.segment_names.items()]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
    if with_all:
        labels, colours = ["All customers", *labels], [ALL_COLOUR, *colours]
    return alt.Scale(domain=labels, range=colours)


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN and ±inf become null)."""
    out = frame.to_dicts()
    for row in out:
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return out


def _data(frame: pl.DataFrame) -> alt.Data:
    return alt.Data(values=records(frame))


def _feature_keys(features: Sequence[str]) -> dict[str, str]:
    """Feature name -> safe field key (f0, f1, …)."""
    return {f: f"f{i}" for i, f in enumerate(features)}


def plain(feature: str) -> str:
    """A feature column name in plain words: ``brand_share__prix_pro`` -> "brand share: prix pro"."""
    return feature.replace("__", ": ").replace("_", " ")


def _with_segment(frame: pl.DataFrame, bundle: ReportBundle) -> pl.DataFrame:
    labels = {s: segment_label(s, n) for s, n in bundle.segment_names.items()}
    return frame.with_columns(
        seg_label=pl.col("segment").replace_strict(labels, default="unassigned", return_dtype=pl.String)
    )


def _sample(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    return frame if frame.height <= limit else frame.sample(n=limit, seed=0, shuffle=False)


def pca_segments(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """Customers on the first two principal components, coloured by segment, centroids marked."""
    cust = bundle.customers
    if not {"pca_1", "pca_2"} <= set(cust.columns):
        return None
    feats = bundle.features[:4]
    keys = _feature_keys(feats)
    frame = _with_segment(_sample(cust, MAX_POINTS), bundle).select(
        pl.col("customer_name").cast(pl.String).alias("name"),
        pl.col("customer_id").cast(pl.String).alias("id"),
        "seg_label",
        "pca_1",
        "pca_2",
        *[pl.col(f).alias(keys[f]) for f in feats],
    )
    explained = bundle.run.get("segmentation", {}).get("pca_explained") or [None, None]
    ax = [
        f"Principal component {i + 1}" + (f" ({e:.0%} of variance)" if e is not None else "")
        for i, e in enumerate(explained[:2])
    ]
    colour = alt.Color("seg_label:N", scale=segment_scale(bundle), title="Segment")
    base = alt.Chart(_data(frame))
    points = base.mark_circle(size=28, opacity=0.55).encode(
        x=alt.X("pca_1:Q", title=ax[0]),
        y=alt.Y("pca_2:Q", title=ax[1]),
        color=colour,
        tooltip=[
            alt.Tooltip("name:N", title="Customer"),
            alt.Tooltip("id:N", title="Customer id"),
            alt.Tooltip("seg_label:N", title="Segment"),
            *[alt.Tooltip(f"{keys[f]}:Q", title=plain(f), format=",.2f") for f in feats],
        ],
    )
    centroids = base.mark_point(shape="cross", size=320, filled=True, stroke="black",
                                strokeWidth=1.2, opacity=1).encode(
        x="mean(pca_1):Q",
        y="mean(pca_2):Q",
        color=alt.Color("seg_label:N", scale=segment_scale(bundle), legend=None),
        tooltip=[alt.Tooltip("seg_label:N", title="Segment centre")],
    )
    title = "Customers by segment (first two principal components; crosses mark segment centres)"
    if frame.height < cust.height:
        title += f" — random sample of {frame.height:,} of {cust.height:,}"
    return (points + centroids).properties(width=WIDTH, height=380, title=title)


def feature_boxplots(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """Distributions of each segmentation feature by segment, standardised across customers."""
    feats = bundle.features
    if not feats:
        return None
    keys = _feature_keys(feats)
    labels = {keys[f]: plain(f) for f in feats}
    frame = _with_segment(_sample(bundle.customers, MAX_BOX_CUSTOMERS), bundle).select(
        "seg_label", *[pl.col(f).alias(keys[f]) for f in feats]
    )
    return (
        alt.Chart(_data(frame))
        .transform_fold(list(labels), as_=["key", "value"])
        .transform_joinaggregate(mu="mean(value)", sd="stdev(value)", groupby=["key"])
        .transform_calculate(
            z="datum.sd > 0 ? (datum.value - datum.mu) / datum.sd : 0",
            feature=alt.expr.if_(False, "", _lookup_expr(labels)),
        )
        .mark_boxplot(size=14, outliers={"size": 6, "opacity": 0.4})
        .encode(
            x=alt.X("seg_label:N", title=None, axis=alt.Axis(labels=False, ticks=False)),
            y=alt.Y("z:Q", title="Standardised value (0 = average customer)"),
            color=alt.Color("seg_label:N", scale=segment_scale(bundle), title="Segment"),
        )
        .properties(width=150, height=150)
        .facet(facet=alt.Facet("feature:N", title=None), columns=3)
        .properties(title="How segments differ on each feature (boxplots, standardised)")
    )


def _lookup_expr(labels: dict[str, str]) -> str:
    """A Vega expression mapping the fixed keys f0… to their feature titles (JSON-quoted)."""
    import json

    return f"{json.dumps(labels)}[datum.key]"


def pca_loadings(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """How much each feature contributes to the two principal components."""
    if bundle.pca_loadings is None or bundle.pca_loadings.is_empty():
        return None
    frame = bundle.pca_loadings.select(
        pl.col("feature").map_elements(plain, return_dtype=pl.String).alias("feature"),
        pl.col("pc_1").alias("Component 1"),
        pl.col("pc_2").alias("Component 2"),
    )
    return (
        alt.Chart(_data(frame))
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


def k_selection(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """Silhouette and inertia by number of segments, the chosen k marked."""
    ks = bundle.k_selection
    if ks is None or ks.is_empty():
        return None
    base = alt.Chart(_data(ks.select("k", "inertia", "silhouette", "chosen")))
    panels = []
    for field, title in (("silhouette", "Silhouette (higher = better separated)"),
                         ("inertia", "Inertia (within-segment spread)")):
        line = base.mark_line(point=True, color="#0072B2").encode(
            x=alt.X("k:O", title="Number of segments (k)", axis=alt.Axis(labelAngle=0)),
            y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False)),
            tooltip=["k:O", alt.Tooltip(f"{field}:Q", format=".3f")],
        )
        mark = base.transform_filter("datum.chosen").mark_point(
            size=260, shape="diamond", filled=True, color="#D55E00"
        ).encode(x="k:O", y=f"{field}:Q", tooltip=[alt.Tooltip("k:O", title="chosen k")])
        panels.append((line + mark).properties(width=260, height=200))
    return alt.hconcat(*panels).properties(
        title="Choosing the number of segments (orange diamond = chosen k)"
    )


def top_items(bundle: ReportBundle, *, top: int = 10) -> alt.TopLevelMixin | None:
    """Support of the most bought items overall and in each segment."""
    sup = bundle.item_support
    if sup is None or sup.is_empty():
        return None
    frame = (
        sup.filter(pl.col("rank") <= top)
        .with_columns(
            scope_label=pl.col("scope").map_elements(_scope_colour_label(bundle), return_dtype=pl.String),
            label=pl.col("item_name").fill_null(pl.col("item")).map_elements(truncate, return_dtype=pl.String),
            full=pl.col("item_name").fill_null(pl.col("item")),
        )
        .select("scope_label", "label", "full", "item", "support", "baskets", "rank")
    )
    order = ["All customers", *[segment_label(s, n) for s, n in bundle.segment_names.items()]]
    return (
        alt.Chart(_data(frame))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort=alt.EncodingSortField("rank")),
            x=alt.X("support:Q", title="Share of baskets", axis=alt.Axis(format="%")),
            color=alt.Color("scope_label:N", scale=segment_scale(bundle, with_all=True), legend=None),
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


def _scope_colour_label(bundle: ReportBundle) -> Callable[[str], str]:
    names = bundle.segment_names

    def label(scope: str) -> str:
        if scope == "all":
            return "All customers"
        try:
            seg = int(scope)
        except ValueError:
            return scope
        return segment_label(seg, names.get(seg))

    return label


def rule_text(antecedent: Sequence[str] | None, consequent: Sequence[str] | None) -> str:
    """``"A + B → C"`` from name lists.

    Example:
        >>> rule_text(["Brie", "Wine"], ["Baguette"])
        'Brie + Wine → Baguette'
    """
    return f"{' + '.join(antecedent or [])} → {' + '.join(consequent or [])}"


def rules_frame(bundle: ReportBundle) -> pl.DataFrame | None:
    """Rules with display text (names when present, else ids) and a scope label."""
    rules = bundle.rules
    if rules is None:
        return None
    ante = "antecedent_names" if "antecedent_names" in rules.columns else "antecedent"
    cons = "consequent_names" if "consequent_names" in rules.columns else "consequent"
    return rules.with_columns(
        rule=pl.struct(a=pl.col(ante), c=pl.col(cons)).map_elements(
            lambda r: rule_text(r["a"], r["c"]), return_dtype=pl.String
        ),
        scope_label=pl.col("scope").map_elements(_scope_colour_label(bundle), return_dtype=pl.String),
    )


def rule_opportunities(bundle: ReportBundle, *, top: int = 8) -> alt.TopLevelMixin | None:
    """Per segment, the top rules with the customers who buy the antecedent but not the consequent."""
    frame = rules_frame(bundle)
    if frame is None or "opportunity_customers" not in frame.columns or frame.is_empty():
        return None
    shown = (
        frame.filter(pl.col("opportunity_customers") > 0)
        .sort(["scope", "opportunity_customers", "lift"], descending=[False, True, True])
        .group_by("scope", maintain_order=True)
        .head(top)
        .with_columns(label=pl.col("rule").map_elements(lambda s: truncate(s, 48), return_dtype=pl.String))
        .select("rule_id", "scope_label", "label", "rule", "opportunity_customers", "confidence", "lift")
    )
    if shown.is_empty():
        return None
    return (
        alt.Chart(_data(shown))
        .mark_bar()
        .encode(
            y=alt.Y("label:N", title=None, sort="-x"),
            x=alt.X("opportunity_customers:Q", title="Customers who buy the left side but never the right"),
            color=alt.Color("scope_label:N", scale=segment_scale(bundle, with_all=True), legend=None),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("rule_id:N", title="Rule id"),
                alt.Tooltip("opportunity_customers:Q", title="Customers to approach", format=","),
                alt.Tooltip("confidence:Q", format=".1%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(width=260, height=20 * top)
        .facet(facet=alt.Facet("scope_label:N", title=None), columns=2)
        .resolve_scale(y="independent", x="independent")
        .properties(title="Cross-sell: top rules by customers missing the recommended item")
    )


def rules_scatter(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """Every rule as support × confidence, coloured by lift, one panel per scope."""
    frame = rules_frame(bundle)
    if frame is None or frame.is_empty():
        return None
    data = frame.select("rule_id", "scope_label", "rule", "support", "confidence", "lift")
    return (
        alt.Chart(_data(data))
        .mark_circle(size=40, opacity=0.75)
        .encode(
            x=alt.X("support:Q", title="Support (share of baskets)", axis=alt.Axis(format="%")),
            y=alt.Y("confidence:Q", title="Confidence", axis=alt.Axis(format="%")),
            color=alt.Color("lift:Q", scale=alt.Scale(scheme="viridis"), title="Lift"),
            tooltip=[
                alt.Tooltip("rule:N", title="Rule"),
                alt.Tooltip("scope_label:N", title="Customers"),
                alt.Tooltip("support:Q", format=".2%"),
                alt.Tooltip("confidence:Q", format=".1%"),
                alt.Tooltip("lift:Q", format=".2f"),
            ],
        )
        .properties(width=250, height=200)
        .facet(facet=alt.Facet("scope_label:N", title=None), columns=3)
        .properties(title="Rules: how common (support) and how reliable (confidence); colour = lift")
    )


def rules_matrix(bundle: ReportBundle, *, top: int = 40) -> alt.TopLevelMixin | None:
    """Grouped matrix of the strongest rules over all customers: left side × right side."""
    frame = rules_frame(bundle)
    if frame is None or frame.is_empty():
        return None
    scope = "all" if (frame["scope"] == "all").any() else frame["scope"][0]
    ante = "antecedent_names" if "antecedent_names" in frame.columns else "antecedent"
    cons = "consequent_names" if "consequent_names" in frame.columns else "consequent"
    data = (
        frame.filter(pl.col("scope") == scope)
        .sort("lift", descending=True)
        .head(top)
        .with_columns(
            lhs=pl.col(ante).list.join(" + "),
            rhs=pl.col(cons).list.join(" + "),
        )
        .with_columns(
            lhs_label=pl.col("lhs").map_elements(lambda s: truncate(s, 44), return_dtype=pl.String),
            rhs_label=pl.col("rhs").map_elements(truncate, return_dtype=pl.String),
        )
        .select("rule_id", "lhs", "rhs", "lhs_label", "rhs_label", "support", "confidence", "lift")
    )
    return (
        alt.Chart(_data(data))
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


def segment_profiles(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """Heat map of each segment's z-score on each feature."""
    zcols = [c for c in bundle.segments.columns if c.startswith("z__")]
    if not zcols:
        return None
    keys = {c: f"f{i}" for i, c in enumerate(zcols)}
    labels = {keys[c]: plain(c[3:]) for c in zcols}
    frame = _with_segment(bundle.segments, bundle).select(
        "seg_label", *[pl.col(c).alias(keys[c]) for c in zcols]
    )
    base = (
        alt.Chart(_data(frame))
        .transform_fold(list(labels), as_=["key", "z"])
        .transform_calculate(feature=_lookup_expr(labels))
        .encode(
            x=alt.X("feature:N", title=None, sort=list(labels.values()),
                    axis=alt.Axis(labelAngle=-35, labelLimit=180)),
            y=alt.Y("seg_label:N", title=None, sort=None, axis=alt.Axis(labelLimit=260)),
        )
    )
    cells = base.mark_rect().encode(
        color=alt.Color("z:Q", scale=alt.Scale(scheme="blueorange", domainMid=0),
                        title="z-score"),
        tooltip=[alt.Tooltip("seg_label:N", title="Segment"), alt.Tooltip("feature:N"),
                 alt.Tooltip("z:Q", format="+.2f", title="z-score")],
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


def cleaning_waterfall(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """The cleaning account as a waterfall: lines read, each rule's drop, lines kept."""
    acc = bundle.cleaning
    if acc is None or acc.is_empty():
        return None
    acc = acc.sort("step")
    rows = [{"label": "Lines read", "start": 0, "end": acc["rows_in"][0], "kind": "total",
             "dropped": None, "description": "lines in the sales file"}]
    for r in acc.iter_rows(named=True):
        rows.append({"label": truncate(r["rule"].replace("_", " "), 30), "start": r["rows_out"],
                     "end": r["rows_in"], "kind": "dropped", "dropped": r["rows_dropped"],
                     "description": r["description"]})
    rows.append({"label": "Lines kept", "start": 0, "end": acc["rows_out"][-1], "kind": "total",
                 "dropped": None, "description": "lines used for the analysis"})
    order = [r["label"] for r in rows]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("label:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
    )
    bars = base.mark_bar(size=34).encode(
        y=alt.Y("start:Q", title="Sales lines", axis=alt.Axis(format="~s")),
        y2="end:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=["total", "dropped"],
                                                   range=["#0072B2", "#D55E00"]),
                        title=None),
        tooltip=[alt.Tooltip("label:N", title="Step"), alt.Tooltip("description:N"),
                 alt.Tooltip("dropped:Q", title="Lines dropped", format=","),
                 alt.Tooltip("end:Q", title="Lines before", format=",")],
    )
    text = base.transform_filter("datum.kind == 'dropped'").mark_text(dy=-8).encode(
        y="end:Q", text=alt.Text("dropped:Q", format=",")
    )
    return (bars + text).properties(width=WIDTH, height=260,
                                    title="Data quality: lines dropped by each cleaning rule")


def backtest(bundle: ReportBundle) -> alt.TopLevelMixin | None:
    """The backtest comparison (hit rate, precision, recall by method), when one was run."""
    bt = bundle.backtest
    if bt is None or bt.is_empty():
        return None
    cat = next((c for c in ("method", "strategy", "model") if c in bt.columns), None)
    cat = cat or next((c for c, t in bt.schema.items() if t == pl.String), None)
    metrics = [c for c in bt.columns if any(m in c for m in ("hit_rate", "precision", "recall"))
               and bt.schema[c].is_numeric()]
    if cat is None or not metrics:
        return None
    frame = bt.select(pl.col(cat).cast(pl.String).alias("method"), *metrics)
    return (
        alt.Chart(_data(frame))
        .transform_fold(metrics, as_=["measure", "value"])
        .mark_bar()
        .encode(
            x=alt.X("method:N", title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title="Share", axis=alt.Axis(format="%")),
            color=alt.Color("method:N", scale=alt.Scale(range=list(PALETTE)), legend=None),
            tooltip=["method:N", "measure:N", alt.Tooltip("value:Q", format=".2%")],
        )
        .properties(width=160, height=180)
        .facet(column=alt.Column("measure:N", title=None))
        .properties(title="Backtest: do the recommendations come true after the split date?")
    )


CHARTS: tuple[ChartDef, ...] = (
    ChartDef("pca_segments", "Customers by segment", "segments", pca_segments),
    ChartDef("feature_boxplots", "Feature distributions by segment", "segments", feature_boxplots),
    ChartDef("segment_profiles", "Segment profiles", "segments", segment_profiles),
    ChartDef("pca_loadings", "Principal component loadings", "method", pca_loadings),
    ChartDef("k_selection", "Choosing the number of segments", "method", k_selection),
    ChartDef("top_items", "Top items", "products", top_items),
    ChartDef("rule_opportunities", "Customers missing the recommended item", "rules",
             rule_opportunities),
    ChartDef("rules_scatter", "Rules: support × confidence", "rules", rules_scatter),
    ChartDef("rules_matrix", "Rules matrix", "rules", rules_matrix),
    ChartDef("cleaning_waterfall", "Cleaning account", "quality", cleaning_waterfall),
    ChartDef("backtest", "Backtest", "opportunities", backtest),
)


def build_specs(bundle: ReportBundle) -> dict[str, dict[str, Any] | None]:
    """Slug -> Vega-Lite spec (dict) for every chart; ``None`` when its data is absent."""
    specs: dict[str, dict[str, Any] | None] = {}
    for chart in CHARTS:
        built = chart.build(bundle)
        specs[chart.slug] = None if built is None else built.to_dict()
    return specs
