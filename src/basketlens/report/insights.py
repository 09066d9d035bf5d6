"""Plain-language sentences from the numbers of an output folder.

Formatting, not computing: these functions pick, sort and format values already present in the
tables (sums of per-customer ``expected_value`` and of segment net sales are the only
arithmetic). Every sentence says what it counts — customers, baskets or sales lines — and every
amount carries its currency and the period it covers. Numbers follow the active
:class:`~basketlens.report.formats.NumberFormat`. The sentences are plain text; the HTML
renderer escapes them.

Example:
    >>> compact(12_345.6)
    '12.3k'
    >>> share(0.184)
    '18%'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from basketlens.report import formats
from basketlens.report.charts import plain
from basketlens.runfolder.analysis import Analysis

#: Share of item names that are bare codes (the id itself, or digits only) above which the
#: summary suggests mapping names.
BARE_CODE_SHARE = 0.5
_CODE = re.compile(r"^[\d\s\-./]+$")


@dataclass(frozen=True)
class KeyNumber:
    """A headline figure of the summary: label, formatted value and an explanation.

    ``number`` is the value itself and ``kind`` what it is (``count``, ``money``, ``number``),
    for renderers that store numbers (the workbook); ``unit`` names currency and period.
    """

    label: str
    value: str
    detail: str = ""
    number: float | int | None = None
    kind: str = "count"
    unit: str = ""


@dataclass(frozen=True)
class LookFirst:
    """One of the three things to look at first: report section anchor, title and why."""

    anchor: str
    title: str
    text: str


def compact(value: float | int | None) -> str:
    """A number for a sentence: 950, 12.3k, 4.1M (in the active locale)."""
    return formats.active().compact(value)


def share(value: float | None) -> str:
    """A share as a whole percentage ("18%"); below 1% with one decimal."""
    return formats.active().share(value)


def _count(value: float | int | None) -> str:
    return formats.active().integer(value or 0)


def _period(bundle: Analysis) -> str:
    period = formats.Period.from_info(bundle.info)
    return period.label if period else ""


def _basket_unit(bundle: Analysis) -> str:
    """What a basket is in this run: an invoice, or one customer's purchases on one day."""
    by = (bundle.info.get("parameters") or {}).get("clean", {}).get("basket_by", "invoice")
    return "customer-days" if by == "customer_day" else "invoices"


def net_sales_total(bundle: Analysis) -> float | None:
    """Net sales of every segmented customer over the window (the segments' sum)."""
    seg = bundle.segments
    if seg is None or "net_sales" not in seg.columns or seg.is_empty():
        return None
    return float(seg["net_sales"].sum())


def key_numbers(bundle: Analysis) -> list[KeyNumber]:
    """The headline figures: lines, customers, baskets, items, net sales, segments, rules,
    opportunities."""
    f = formats.active()
    rows = bundle.info.get("rows", {})
    seg = bundle.info.get("segmentation", {})
    period = _period(bundle)
    out = [
        KeyNumber(
            "Sales lines used",
            _count(rows.get("lines_kept")),
            f"of {_count(rows.get('lines_read'))} lines read",
            rows.get("lines_kept", 0),
        ),
        KeyNumber("Customers", _count(bundle.customers.height), period, bundle.customers.height),
        KeyNumber(
            "Baskets",
            _count(rows.get("baskets")),
            f"{_basket_unit(bundle)} with at least one kept line",
            rows.get("baskets", 0),
        ),
        KeyNumber("Items", _count(rows.get("items")), "distinct items sold", rows.get("items", 0)),
    ]
    total = net_sales_total(bundle)
    if total is not None:
        unit = f"{f.money_unit()}, {period}" if period else f.money_unit()
        out.append(
            KeyNumber(
                "Net sales", f.money(total, 0), f"{unit}; all segmented customers", total, "money",
                unit,
            )
        )  # fmt: skip
    out.append(
        KeyNumber(
            "Segments",
            _count(bundle.segments.height),
            _segments_detail(seg),
            bundle.segments.height,
        )
    )
    if bundle.rules is not None:
        scopes = bundle.rules["scope"].n_unique()
        detail = f"in {_count(scopes)} scopes (all baskets and each segment's baskets)"
        if "kind" in bundle.rules.columns:
            cross = int((bundle.rules["kind"] == "cross_sell").sum())
            detail += f", {_count(cross)} of them cross-sell"
        out.append(KeyNumber("Rules", _count(bundle.rules.height), detail, bundle.rules.height))
    if bundle.opportunities is not None:
        opp = bundle.opportunities
        customers = opp["customer_id"].n_unique() if "customer_id" in opp.columns else None
        detail = f"customer × item calls, {_count(customers)} customers" if customers else ""
        out.append(KeyNumber("Opportunities", _count(opp.height), detail, opp.height))
    return out


def subtitle(bundle: Analysis) -> str:
    """The line under the report's title: customers, lines, baskets, the window, the date."""
    rows = bundle.info.get("rows", {})
    parts = [
        f"{_count(bundle.customers.height)} customers",
        f"{_count(rows.get('lines_kept'))} sales lines",
        f"{_count(rows.get('baskets'))} baskets",
    ]
    if _period(bundle):
        parts.append(_period(bundle))
    parts.append(f"created {bundle.info.get('created_at', 'unknown')}")
    return " · ".join(parts)


def _segments_detail(seg: dict) -> str:
    """ "clear structure, stability 0.97" / "no clear structure" / "silhouette 0.42"."""
    number = formats.active().number
    if seg.get("verdict") == "weak":
        return "no clear structure"
    if seg.get("verdict") == "clear" and seg.get("stability") is not None:
        return f"clear structure, stability {number(seg['stability'], 2)}"
    silhouette = seg.get("silhouette")
    return f"silhouette {number(silhouette, 2)}" if silhouette is not None else ""


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
            f"silhouette {formats.active().number(sil, 2)}" if sil is not None else "",
            f"stability {formats.active().number(stab, 2)}" if stab is not None else "",
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


def segment_sentences(bundle: Analysis) -> list[str]:
    """One sentence per segment: size, revenue, its description (else what it stands out on),
    example customers, its best opportunity."""
    f = formats.active()
    zcols = [c for c in bundle.segments.columns if c.startswith("z__")]
    period = _period(bundle)
    sentences = []
    for row in bundle.segments.sort("segment").iter_rows(named=True):
        money = ""
        if row.get("net_sales") is not None:
            money = f", {f.compact_money(row['net_sales'])}" + (f" in {period}" if period else "")
        text = (
            f"'{row['segment_name']}': {share(row['customer_share'])} of customers "
            f"({_count(row['customers'])} customers), {share(row['revenue_share'])} of net "
            f"sales{money}."
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
                    f"({f.number(abs(z), 1)} standard deviations {side} the average customer)."
                )
        best = best_opportunity(bundle, str(row["segment"]))
        if best:
            text += f" {best}"
        sentences.append(text)
    return sentences


def best_opportunity(bundle: Analysis, scope: str) -> str:
    """'37 of its customers buy Brie but never Baguette, worth about £12.3k per month …'."""
    rules = bundle.rules
    if rules is None or "opportunity_customers" not in rules.columns:
        return ""
    scoped = rules.filter((pl.col("scope") == scope) & (pl.col("opportunity_customers") > 0))
    if scoped.is_empty():
        return ""
    top = scoped.sort(["opportunity_customers", "lift"], descending=True).row(0, named=True)
    ante = top.get("antecedent_names") or top["antecedent"]
    cons = top.get("consequent_names") or top["consequent"]
    whose = " of its customers" if scope != "all" else " customers"
    text = (
        f"{_count(top['opportunity_customers'])}{whose} buy {' and '.join(ante)} "
        f"but never {' and '.join(cons)}"
    )
    opp = bundle.opportunities
    if opp is not None and "expected_value" in opp.columns:
        value = opp.filter(pl.col("rule_id") == top["rule_id"])["expected_value"].sum()
        if value:
            text += (
                f", worth about {formats.active().compact_money(value)} per month in expected sales"
            )
    return text + "."


def rule_sentence(rule: dict, *, scope_words: str = "all customers'") -> str:
    """One rule in words, counting baskets: 'In 85% of the baskets that contain X, Y is …'."""
    ante = rule.get("antecedent_names") or rule["antecedent"]
    cons = rule.get("consequent_names") or rule["consequent"]
    lift = formats.active().number(rule["lift"], 1)
    return (
        f"In {share(rule['confidence'])} of {scope_words} baskets that contain "
        f"{' and '.join(ante)}, {' and '.join(cons)} is bought too — {lift}× as often as in "
        "the average basket."
    )


def rule_sentences(bundle: Analysis, *, top: int = 3) -> list[str]:
    """The strongest rules over all customers' baskets, in words."""
    rules = bundle.rules
    if rules is None or rules.is_empty():
        return []
    if "kind" in rules.columns:  # the headline speaks of cross-sell, not product variants
        rules = rules.filter(pl.col("kind") == "cross_sell")
    scoped = rules.filter(pl.col("scope") == "all")
    words = "all customers'"
    if scoped.is_empty():
        scope = rules["scope"][0]
        scoped, words = rules.filter(pl.col("scope") == scope), f"{bundle.scope_label(scope)}'s"
    return [
        rule_sentence(r, scope_words=words)
        for r in scoped.sort("lift", descending=True).head(top).iter_rows(named=True)
    ]


def quality_sentence(bundle: Analysis) -> str:
    """What cleaning removed, naming the rule that removed the most lines."""
    acc = bundle.cleaning
    if acc is None or acc.is_empty():
        return "The cleaning account is not in this output folder."
    acc = acc.sort("step")
    read, kept = acc["rows_in"][0], acc["rows_out"][-1]
    text = (
        f"{_count(kept)} of {_count(read)} sales lines "
        f"({share(kept / read if read else None)}) were kept."
    )
    worst = acc.sort("rows_dropped", descending=True).row(0, named=True)
    if worst["rows_dropped"]:
        text += f" Most removed: {_count(worst['rows_dropped'])} lines — {worst['description']}."
    return text


def bare_code_share(bundle: Analysis) -> float:
    """Share of items whose name is a bare code: the id itself, or only digits and dashes."""
    items = bundle.items
    if items is None or items.is_empty() or "item_name" not in items.columns:
        return 1.0 if "item_name" not in (bundle.info.get("column_map") or {}) else 0.0
    names = items.select(
        bare=(pl.col("item_name").is_null())
        | (pl.col("item_name") == pl.col("item"))
        | pl.col("item_name").str.contains(_CODE.pattern)
    )["bare"]
    return float(names.mean() or 0.0)


def data_notes(bundle: Analysis) -> list[str]:
    """What the reader should know about the data: e.g. items known only by their codes."""
    notes = []
    bare = bare_code_share(bundle)
    if bare >= BARE_CODE_SHARE:
        mapped = "item_name" in (bundle.info.get("column_map") or {})
        why = (
            "most item names are bare codes"
            if mapped
            else "the ledger has no item name (no description column and no item table)"
        )
        notes.append(
            f"Items are shown by their codes ({share(bare)} of items): {why}. Map a description "
            "column with --map item_name=COLUMN (and category with --map category=COLUMN), or "
            "pass an item table with --items, to make the rules readable."
        )
    return notes


def look_first(bundle: Analysis) -> list[LookFirst]:
    """The three things to look at first in the report, each with its section anchor."""
    out = []
    seg = bundle.segments.sort("revenue_share", descending=True)
    if not seg.is_empty():
        top = seg.row(0, named=True)
        out.append(
            LookFirst(
                "segments",
                "Segments",
                f"{_count(seg.height)} customer segments; '{top['segment_name']}' holds "
                f"{share(top['customer_share'])} of customers and {share(top['revenue_share'])}"
                " of net sales.",
            )
        )
    best = ""
    if bundle.rules is not None and "opportunity_customers" in bundle.rules.columns:
        best = best_opportunity(bundle, "all") or next(
            (b for s in bundle.segment_names if (b := best_opportunity(bundle, str(s)))), ""
        )
    if best and bundle.opportunities is not None:
        customers = bundle.opportunities["customer_id"].n_unique()
        out.append(
            LookFirst(
                "opportunities",
                "Opportunities",
                f"the call list of {_count(customers)} customers; the biggest: {best}",
            )
        )
    sentences = rule_sentences(bundle, top=1)
    if sentences:
        out.append(LookFirst("rules", "Rules", sentences[0]))
    if len(out) < 3 or _kept_share(bundle) < 0.8:
        out.insert(min(len(out), 2), LookFirst("quality", "Data quality", quality_sentence(bundle)))
    return out[:3]


def _kept_share(bundle: Analysis) -> float:
    acc = bundle.cleaning
    if acc is None or acc.is_empty():
        return 1.0
    acc = acc.sort("step")
    read = acc["rows_in"][0]
    return acc["rows_out"][-1] / read if read else 1.0


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
