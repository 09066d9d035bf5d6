"""Shared pieces of the report charts: palette, segment colours, labels, data handling.

Example:
    >>> segment_label(0, "Premium boutique")
    '0 · Premium boutique'
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import altair as alt
import polars as pl

from basketlens.runfolder.analysis import Analysis

#: Colour-blind-safe categorical palette (Okabe–Ito, then Paul Tol's muted), one per segment.
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#882255", "#117733", "#999933", "#AA4499", "#44AA99", "#888888",
)  # fmt: skip
ALL_COLOUR = "#555555"
WIDTH = 680
#: Customers plotted individually before the PCA chart shows a random sample.
MAX_POINTS = 20_000
#: Customers used for the boxplots before sampling.
MAX_BOX_CUSTOMERS = 3_000
LABEL_CHARS = 38
#: Rules per scope drawn in the support × confidence chart.
MAX_SCATTER_RULES = 500


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


def segment_scale(bundle: Analysis, *, with_all: bool = False) -> alt.Scale:
    """Colour scale mapping each segment label to the same colour in every chart."""
    labels = [segment_label(s, n) for s, n in bundle.segment_names.items()]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
    if with_all:
        labels, colours = ["All customers", *labels], [ALL_COLOUR, *colours]
    return alt.Scale(domain=labels, range=colours)


class RawSpec(dict):
    """A Vega-Lite spec written as a dict, for a chart whose Altair construction is slow;
    :func:`~basketlens.report.charts.build_spec` treats it like an Altair chart.

    Example:
        >>> RawSpec({"mark": "bar"}).to_dict(validate=False)
        {'mark': 'bar'}
    """

    def to_dict(self, validate: bool = False) -> dict[str, Any]:
        return copy.deepcopy(dict(self))


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN and ±inf become null)."""
    out = frame.to_dicts()
    for row in out:
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return out


#: Datasets of the chart being built: name -> rows. Charts refer to data by name; the rows are
#: attached to the spec's top-level ``datasets`` after ``to_dict`` (Altair would otherwise
#: validate and copy every row, which takes seconds for 20,000 customers).
_DATASETS: ContextVar[dict[str, list[dict[str, Any]]] | None] = ContextVar(
    "_DATASETS", default=None
)


def chart_data(frame: pl.DataFrame | list[dict[str, Any]]) -> alt.Data:
    rows = records(frame) if isinstance(frame, pl.DataFrame) else frame
    store = _DATASETS.get()
    if store is None:  # called outside build_spec: inline the values
        return alt.Data(values=rows)
    name = f"basketlens_{len(store) + 1}"
    store[name] = rows
    return alt.Data(name=name)


def feature_keys(features: Sequence[str]) -> dict[str, str]:
    """Feature name -> safe field key (f0, f1, …)."""
    return {f: f"f{i}" for i, f in enumerate(features)}


def plain(feature: str) -> str:
    """A feature name in plain words: ``brand_share__prix_pro`` -> "brand share: prix pro"."""
    return feature.replace("__", ": ").replace("_", " ")


def trunc_expr(expr: pl.Expr, limit: int = LABEL_CHARS) -> pl.Expr:
    """Polars expression version of :func:`truncate`."""
    return (
        pl.when(expr.str.len_chars() > limit)
        .then(expr.str.slice(0, limit - 1) + "…")
        .otherwise(expr)
    )


def distinct_labels(
    frame: pl.DataFrame, label: str, full: str, *, by: Sequence[str] = ()
) -> pl.DataFrame:
    """Keep truncated labels of different full texts apart (" #2", " #3", …) within ``by``.

    Two products whose names share the first characters would otherwise share one axis
    position, and their bars would be stacked as if they were one product.
    """
    keys = [*by, label]
    rank = pl.col(full).rank("dense").over(keys).cast(pl.Int64)
    return frame.with_columns(
        pl.when(pl.col(full).n_unique().over(keys) > 1)
        .then(pl.col(label) + " #" + rank.cast(pl.String))
        .otherwise(pl.col(label))
        .alias(label)
    )


def scope_order(bundle: Analysis) -> list[str]:
    """Facet order: all customers first, then the segments by id."""
    return ["All customers", *[segment_label(s, n) for s, n in bundle.segment_names.items()]]


def scope_label_expr(bundle: Analysis) -> pl.Expr:
    """The chart label of the ``scope`` column ("All customers" or the segment label)."""
    mapping = {"all": "All customers"}
    mapping.update({str(s): segment_label(s, n) for s, n in bundle.segment_names.items()})
    return pl.col("scope").replace_strict(mapping, default=pl.col("scope"), return_dtype=pl.String)


def with_segment(frame: pl.DataFrame, bundle: Analysis) -> pl.DataFrame:
    labels = {s: segment_label(s, n) for s, n in bundle.segment_names.items()}
    return frame.with_columns(
        seg_label=pl.col("segment").replace_strict(
            labels, default="unassigned", return_dtype=pl.String
        )
    )


def with_segment_lookup(chart: alt.Chart, bundle: Analysis, field: str = "seg") -> alt.Chart:
    """Add ``seg_label`` to each row from a small segment table (labels stay out of every row)."""
    labels = [{"seg": s, "seg_label": segment_label(s, n)} for s, n in bundle.segment_names.items()]
    return chart.transform_lookup(
        lookup=field,
        from_=alt.LookupData(data=chart_data(labels), key="seg", fields=["seg_label"]),
    )


def display_sample(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    return frame if frame.height <= limit else frame.sample(n=limit, seed=0, shuffle=False)


def rule_text(antecedent: Sequence[str] | None, consequent: Sequence[str] | None) -> str:
    """``"A + B → C"`` from name lists.

    Example:
        >>> rule_text(["Brie", "Wine"], ["Baguette"])
        'Brie + Wine → Baguette'
    """
    return f"{' + '.join(antecedent or [])} → {' + '.join(consequent or [])}"


def rules_frame(bundle: Analysis) -> pl.DataFrame | None:
    """Rules with display text ``lhs``, ``rhs``, ``rule`` (names, else ids) and a scope label."""
    rules = bundle.rules
    if rules is None:
        return None
    ante = "antecedent_names" if "antecedent_names" in rules.columns else "antecedent"
    cons = "consequent_names" if "consequent_names" in rules.columns else "consequent"
    return rules.with_columns(
        lhs=pl.col(ante).list.join(" + "),
        rhs=pl.col(cons).list.join(" + "),
        scope_label=scope_label_expr(bundle),
    ).with_columns(rule=pl.col("lhs") + " → " + pl.col("rhs"))
