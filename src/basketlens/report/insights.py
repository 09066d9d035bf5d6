"""Plain-language sentences from the numbers of an output folder.

Formatting, not computing: these functions pick, sort and format values already present in the
tables (a sum of per-customer ``expected_value`` for a rule is the only arithmetic). The
sentences are plain text; the HTML renderer escapes them.

Example:
    >>> compact(12_345.6)
    '12.3k'
    >>> share(0.184)
    '18%'
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from basketlens.report.charts import plain
from basketlens.runfolder.analysis import Analysis


@dataclass(frozen=True)
class KeyNumber:
    """A headline figure of the summary: label, formatted value and an explanation."""

    label: str
    value: str
    detail: str = ""


def compact(value: float | int | None) -> str:
    """A number for a sentence: 950, 12.3k, 4.1M."""
    if value is None:
        return "n/a"
    v = float(value)
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= limit:
            return f"{v / limit:.1f}{suffix}"
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2f}"


def share(value: float | None) -> str:
    """A share as a whole percentage ("18%"); below 1% with one decimal."""
    if value is None:
        return "n/a"
    return f"{value:.1%}" if 0 < abs(value) < 0.01 else f"{value:.0%}"


def key_numbers(bundle: Analysis) -> list[KeyNumber]:
    """The headline figures: lines, customers, segments, rules, opportunities."""
    rows = bundle.info.get("rows", {})
    seg = bundle.info.get("segmentation", {})
    out = [
        KeyNumber(
            "Sales lines used",
            f"{rows.get('lines_kept', 0):,}",
            f"of {rows.get('lines_read', 0):,} read",
        ),
        KeyNumber(
            "Customers", f"{bundle.customers.height:,}", f"{rows.get('baskets', 0):,} baskets"
        ),
        KeyNumber("Items", f"{rows.get('items', 0):,}", _period(rows)),
        KeyNumber("Segments", str(bundle.segments.height), _segments_detail(seg)),
    ]
    if bundle.rules is not None:
        scopes = bundle.rules["scope"].n_unique()
        out.append(KeyNumber("Rules", f"{bundle.rules.height:,}", f"in {scopes} scopes"))
    if bundle.opportunities is not None:
        opp = bundle.opportunities
        detail = ""
        if "expected_value" in opp.columns:
            detail = f"worth about {compact(opp['expected_value'].sum())} in all"
        out.append(KeyNumber("Opportunities", f"{opp.height:,}", detail))
    return out


def _segments_detail(seg: dict) -> str:
    """ "clear structure, stability 0.97" / "no clear structure" / "silhouette 0.42"."""
    if seg.get("verdict") == "weak":
        return "no clear structure"
    if seg.get("verdict") == "clear" and seg.get("stability") is not None:
        return f"clear structure, stability {seg['stability']:.2f}"
    return f"silhouette {seg['silhouette']:.2f}" if seg.get("silhouette") is not None else ""


def verdict_sentence(bundle: Analysis) -> str:
    """How much to trust the segments, in plain words (empty for runs without a verdict).

    Example:
        >>> from types import SimpleNamespace
        >>> weak = {"segmentation": {"k": 3, "verdict": "weak", "silhouette": 0.12,
        ...                          "stability": 0.61}}
        >>> verdict_sentence(SimpleNamespace(info=weak))[:52]
        'These customers show no clear segment structure: the'
    """
    seg = bundle.info.get("segmentation", {})
    label, k = seg.get("verdict"), seg.get("k")
    sil, stab = seg.get("silhouette"), seg.get("stability")
    numbers = ", ".join(
        text
        for text in (
            f"silhouette {sil:.2f}" if sil is not None else "",
            f"stability {stab:.2f}" if stab is not None else "",
        )
        if text
    )
    why = f" ({numbers})" if numbers else ""
    if label == "weak":
        return (
            f"These customers show no clear segment structure: the {k} segments below are the "
            "best split of a continuous spread of customers, not distinct personas. They "
            "overlap or change when the data is resampled" + why + "; use them as rough "
            "groupings and check them against what you know."
        )
    if label == "clear":
        how = seg.get("k_method")
        chosen = f", k chosen by {how}" if how and how != "given" else ""
        return f"The {k} segments are well separated and stable{why}{chosen}."
    return ""


def _period(rows: dict) -> str:
    first, last = str(rows.get("first_date", ""))[:10], str(rows.get("last_date", ""))[:10]
    return f"{first} to {last}" if first and last else ""


def segment_sentences(bundle: Analysis) -> list[str]:
    """One sentence per segment: size, revenue, its description (else what it stands out on),
    example customers, its best opportunity."""
    zcols = [c for c in bundle.segments.columns if c.startswith("z__")]
    sentences = []
    for row in bundle.segments.sort("segment").iter_rows(named=True):
        text = (
            f"'{row['segment_name']}': {share(row['customer_share'])} of customers "
            f"({row['customers']:,}), {share(row['revenue_share'])} of revenue."
        )
        if row.get("description"):
            text += " " + " ".join(row["description"].splitlines())
            if row.get("examples"):
                text += " For example: " + ", ".join(row["examples"]) + "."
        elif zcols:
            col = max(zcols, key=lambda c: abs(row[c] or 0.0))
            z = row[col] or 0.0
            if abs(z) >= 0.5:
                side = "above" if z > 0 else "below"
                text += (
                    f" Stands out on {plain(col[3:])} "
                    f"({abs(z):.1f} standard deviations {side} average)."
                )
        best = best_opportunity(bundle, str(row["segment"]))
        if best:
            text += f" {best}"
        sentences.append(text)
    return sentences


def best_opportunity(bundle: Analysis, scope: str) -> str:
    """'37 of them buy Brie but never Baguette, worth about 12.3k' for a scope's top rule."""
    rules = bundle.rules
    if rules is None or "opportunity_customers" not in rules.columns:
        return ""
    scoped = rules.filter((pl.col("scope") == scope) & (pl.col("opportunity_customers") > 0))
    if scoped.is_empty():
        return ""
    top = scoped.sort(["opportunity_customers", "lift"], descending=True).row(0, named=True)
    ante = top.get("antecedent_names") or top["antecedent"]
    cons = top.get("consequent_names") or top["consequent"]
    text = (
        f"{top['opportunity_customers']:,} of them buy {' and '.join(ante)} "
        f"but never {' and '.join(cons)}"
    )
    opp = bundle.opportunities
    if opp is not None and "expected_value" in opp.columns:
        value = opp.filter(pl.col("rule_id") == top["rule_id"])["expected_value"].sum()
        if value:
            text += f", worth about {compact(value)} in expected sales"
    return text + "."


def rule_sentences(bundle: Analysis, *, top: int = 3) -> list[str]:
    """The strongest rules over all customers, in words."""
    rules = bundle.rules
    if rules is None or rules.is_empty():
        return []
    scoped = rules.filter(pl.col("scope") == "all")
    scoped = scoped if not scoped.is_empty() else rules
    out = []
    for r in scoped.sort("lift", descending=True).head(top).iter_rows(named=True):
        ante = r.get("antecedent_names") or r["antecedent"]
        cons = r.get("consequent_names") or r["consequent"]
        out.append(
            f"Customers who buy {' and '.join(ante)} also buy {' and '.join(cons)} in "
            f"{share(r['confidence'])} of those baskets — {r['lift']:.1f}× more often than "
            "average."
        )
    return out


def quality_sentence(bundle: Analysis) -> str:
    """What cleaning removed, naming the rule that removed the most lines."""
    acc = bundle.cleaning
    if acc is None or acc.is_empty():
        return "The cleaning account is not in this output folder."
    acc = acc.sort("step")
    read, kept = acc["rows_in"][0], acc["rows_out"][-1]
    text = f"{kept:,} of {read:,} sales lines ({share(kept / read if read else None)}) were kept."
    worst = acc.sort("rows_dropped", descending=True).row(0, named=True)
    if worst["rows_dropped"]:
        text += f" Most removed: {worst['rows_dropped']:,} lines — {worst['description']}."
    return text


def rfm_table(bundle: Analysis) -> pl.DataFrame | None:
    """The RFM cells recorded in the run (``run.json`` → ``segmentation.rfm``), best first, or
    None for a run without them."""
    cells = bundle.info.get("segmentation", {}).get("rfm")
    if not cells:
        return None
    return pl.DataFrame(cells).rename(
        {
            "cell": "RFM cell",
            "customers": "customers",
            "customer_share": "share of customers",
            "revenue_share": "share of revenue",
            "median_recency_days": "median days since last order",
            "median_orders": "median orders",
            "median_net_sales": "median net sales",
        },
        strict=False,
    )


def summary_sentences(bundle: Analysis) -> list[str]:
    """All insights for the summary section, most important first."""
    out = [quality_sentence(bundle), verdict_sentence(bundle)]
    out += segment_sentences(bundle)
    out += rule_sentences(bundle, top=2)
    return [s for s in out if s]
