"""The layout of a run folder: every file's name, what one row is, and the columns readers
rely on. The one place that names them — the writer, the reader, the report, ``recommend``
and the notebook API all go through this registry.

Example:
    >>> TABLES["customers"].file
    'customers.parquet'
    >>> [t.key for t in TABLES.values() if t.always][:3]
    ['cleaning', 'items', 'customers']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MODEL_DIR",
    "MODEL_FILES",
    "MODEL_JSON",
    "RANKED_FILE",
    "REPORT_FILES",
    "RUN_JSON",
    "SEGMENTER_FILE",
    "TABLES",
    "TableFile",
    "outputs_markdown",
]


@dataclass(frozen=True)
class TableFile:
    """One Parquet table of a run folder."""

    key: str  # attribute of Analysis
    file: str  # file name in the folder
    row: str  # what one row is
    description: str
    columns: tuple[str, ...]  # columns every reader may rely on
    always: bool  # written by every run (else: when its stage ran or was asked for)


def _table(
    key: str, row: str, description: str, columns: tuple[str, ...], *, always: bool
) -> TableFile:
    return TableFile(key, f"{key}.parquet", row, description, columns, always)


#: The tables of a run folder, in the order of the stages that produce them.
TABLES: dict[str, TableFile] = {
    t.key: t
    for t in (
        _table(
            "cleaning",
            "cleaning rule",
            "rows in, dropped, out — the first `rows_in` is the file's line count, the last "
            "`rows_out` the lines used",
            ("step", "rule", "description", "rows_in", "rows_dropped", "rows_out"),
            always=True,
        ),
        _table(
            "items",
            "item",
            "the item table built once at cleaning: id, name, brand, category, lines and net "
            "sales kept",
            ("item", "item_name", "brand", "category"),
            always=True,
        ),
        _table(
            "customers",
            "customer",
            "id, name, every feature, segment, persona name, PCA coordinates, RFM scores "
            "(`rfm_r`, `rfm_f`, `rfm_m`, 1–5) and RFM cell (`rfm_cell`: Champions, At risk, …)",
            ("customer_id", "customer_name", "segment", "segment_name"),
            always=True,
        ),
        _table(
            "segments",
            "segment",
            "persona name, two-line description, 3 example customers, size, share of "
            "customers and revenue, mean / median / z-score of each feature",
            (
                "segment",
                "segment_name",
                "customers",
                "customer_share",
                "net_sales",
                "revenue_share",
            ),
            always=True,
        ),
        _table(
            "k_selection",
            "k tried",
            "inertia, silhouette, Calinski–Harabasz, Davies–Bouldin, gap, BIC, bootstrap "
            "stability (those computed), which k was chosen and why, the elbow",
            ("k", "inertia", "silhouette", "chosen"),
            always=True,
        ),
        _table(
            "pca_loadings",
            "feature",
            "contribution to the two principal components, weight in the segmentation, "
            "transform applied",
            ("feature", "pc_1", "pc_2"),
            always=True,
        ),
        _table(
            "rules",
            "rule",
            "scope (`all` or a segment), antecedent / consequent ids and names, counts, "
            "measures; `level` (item, family, category), `kind` (cross_sell, variant), the "
            "mirror rule (B → A) and the rule one level up (see `docs/rules.md`)",
            (
                "rule_id",
                "scope",
                "antecedent",
                "consequent",
                "support",
                "confidence",
                "lift",
                "level",
                "kind",
                "mirror_rule_id",
                "parent_rule_id",
            ),
            always=False,
        ),
        _table(
            "item_support",
            "scope × item",
            "baskets, support, rank",
            ("scope", "item", "item_name", "baskets", "support", "rank"),
            always=False,
        ),
        _table(
            "itemsets",
            "scope × itemset",
            "with `--itemsets`: the frequent itemsets behind the rules",
            ("scope", "itemset", "count", "support", "length"),
            always=False,
        ),
        _table(
            "families",
            "item",
            "the item's family (its colour, size, brand variants and set pieces), the items it "
            "is a variant of and why (see `docs/rules.md`)",
            ("item", "item_name", "family", "family_name", "family_size", "variants"),
            always=False,
        ),
        _table(
            "opportunities",
            "customer × item",
            "the call list: an item to offer a customer who never bought it nor a variant of "
            "it, with expected value, the lead rule in words and every supporting rule, ranked "
            "so no single rule fills the top (see `docs/opportunities.md`)",
            (
                "rank",
                "customer_id",
                "customer_name",
                "segment",
                "item",
                "item_name",
                "kind",
                "expected_value",
                "rule_id",
                "rule",
                "rule_ids",
                "n_rules",
            ),
            always=False,
        ),
        _table(
            "recommendations",
            "customer × item",
            "top never-bought items with the probability of buying them within the horizon, "
            "expected value with currency and period, the evidence and a reason to say aloud",
            (
                "customer_id",
                "customer_name",
                "rank",
                "item",
                "probability",
                "expected_value",
                "currency",
                "period_months",
                "reason",
            ),
            always=False,
        ),
        _table(
            "backtest",
            "method × split",
            "hit rate (with a bootstrap interval), precision, recall, NDCG, coverage and "
            "revenue of each recommender after the split; `default` marks the one `run` uses",
            (
                "method",
                "default",
                "top_n",
                "split",
                "hit_rate",
                "hit_rate_low",
                "hit_rate_high",
                "precision",
                "recall",
                "ndcg",
                "coverage",
            ),
            always=False,
        ),
        _table(
            "backtest_recommendations",
            "method × customer × item",
            "every recommendation the backtest made, and whether it hit",
            ("method", "customer_id", "rank", "item", "hit"),
            always=False,
        ),
        _table(
            "backtest_calibration",
            "split × decile",
            "the default recommender's reliability (mean probability vs share bought, by "
            "decile of probability) and money (expected vs realised revenue, by decile of "
            "expected value)",
            (
                "split",
                "by",
                "decile",
                "mean_probability",
                "hit_share",
                "expected_revenue",
                "realised_revenue",
            ),
            always=False,
        ),
    )
}

#: The run record: parameters, inputs with fingerprints, row counts, timings, versions.
RUN_JSON = "run.json"

#: What ``basketlens recommend`` and :func:`basketlens.load_run` need to answer again.
MODEL_DIR = "model"
MODEL_JSON = "model.json"
MODEL_FILES: dict[str, str] = {
    "rules": "rules.parquet",
    "customers": "customers.parquet",
    "customer_items": "customer_items.parquet",
    "item_values": "item_values.parquet",
    "items": "items.parquet",
}
SEGMENTER_FILE = "segmenter.pkl"
#: The recommender's ranked lists in the model folder (written when the recommender ran).
RANKED_FILE = "recommendations.parquet"

#: Files the report stage renders from the tables (``basketlens report`` re-renders them).
REPORT_FILES: dict[str, str] = {
    "html": "report.html",
    "excel": "insights.xlsx",
    "charts": "charts",
    "bi": "bi",
}


def outputs_markdown() -> str:
    """The table of a run folder's files, as Markdown (README and ``docs/outputs.md``).

    Example:
        >>> outputs_markdown().splitlines()[0]
        '| file | one row per | what |'
    """
    lines = ["| file | one row per | what |", "|---|---|---|"]
    lines += [f"| `{t.file}` | {t.row} | {t.description} |" for t in TABLES.values()]
    lines += [
        f"| `{MODEL_DIR}/` | — | what `basketlens recommend` needs (ranked lists with reasons, "
        "rules, segments, fitted segmenter, purchases) |",
        f"| `{REPORT_FILES['html']}` | — | one self-contained, offline report with interactive "
        "charts and tables |",
        f"| `{REPORT_FILES['excel']}` | — | Summary, Segments, Customers, Rules, a sheet per "
        "segment, Item support, Cleaning, Recommendations |",
        f"| `{REPORT_FILES['charts']}/*.png` | chart | the report's charts as images |",
        f"| `{REPORT_FILES['bi']}/` | — | star layout for Power BI and friends "
        "(see `docs/bi.md`) |",
        f"| `{RUN_JSON}` | run | parameters, input files with size and fingerprint, row counts, "
        "timings, versions |",
    ]
    return "\n".join(lines) + "\n"
