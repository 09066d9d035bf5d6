"""Render ``report.html``: one self-contained, offline page with every chart and table.

Every string from the data is escaped (``html.escape`` for markup; JSON embedded in
``<script>`` has ``<``, ``>``, ``&`` and line separators escaped, so ``</script>`` and ``<!--``
cannot close or confuse the script element). Vega, Vega-Lite and vega-embed are inlined from
``vl_convert.javascript_bundle()``; a Content-Security-Policy forbids any network request.

Example:
    >>> table_html(pl.DataFrame({"name": ["<b>"]}), table_id="t")[:60]  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from functools import lru_cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import polars as pl
import vl_convert

from basketlens import __version__
from basketlens.errors import ModelError
from basketlens.report import formats, insights
from basketlens.report.charts import CHARTS, PALETTE
from basketlens.report.columns import ColumnFormat
from basketlens.runfolder.analysis import Analysis

log = logging.getLogger(__name__)

#: Rows shown per table before the rest is left to the workbook and BI tables.
MAX_TABLE_ROWS = 2_000
#: Rows shown per scope in the rule and opportunity tables (one table per scope).
MAX_SCOPE_ROWS = 500

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("quality", "Data quality"),
    ("segments", "Segments"),
    ("products", "Products"),
    ("rules", "Rules"),
    ("opportunities", "Opportunities"),
    ("method", "Method"),
)


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</``, ``<!--``, ``]]>``).

    Example:
        >>> script_json({"a": "</script><!--"})
        '{"a": "\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, safe)
    return text


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The vega-embed + Vega-Lite + Vega JavaScript bundled by vl-convert (offline).

    Building it takes about a second, so it is kept in the user's cache folder
    (``$XDG_CACHE_HOME/basketlens``, else ``~/.cache/basketlens``), one file per vl-convert
    version; a cache that cannot be read or written is simply not used.
    """
    path = bundle_cache_path()
    js = None
    try:
        js = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        js = None
    if not js:
        js = vl_convert.javascript_bundle()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(js, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            log.debug("vega bundle not cached at %s: %s", path, exc)
    if "</script" in js.lower() or "<!--" in js:  # would end the inline script early
        raise ModelError("the vl-convert JavaScript bundle cannot be inlined safely")
    return js


def bundle_cache_path() -> Path:
    """Where :func:`vega_bundle` keeps the bundle of this vl-convert version."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "basketlens" / f"vega-bundle-{vl_convert.__version__}.js"


def _cell_key(value: Any) -> str | None:
    """The sort key of a numeric cell (the raw number; the text is locale-formatted)."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(int(value))
    if isinstance(value, float):
        return repr(value) if value == value else ""
    return str(value)


def table_html(
    frame: pl.DataFrame,
    *,
    table_id: str,
    titles: Mapping[str, str] | None = None,
    limit: int | None = None,
    filterable: bool = True,
) -> str:
    """A sortable (click a header) and filterable table; rows beyond ``limit`` are noted.

    Numbers follow the active :class:`~basketlens.report.formats.NumberFormat`: counts without
    decimals, money with its currency, shares in %, one number of decimals per column; a
    column's title names its unit ("net sales (GBP, 2010-12-01 to 2011-12-09)").
    """
    titles = titles or {}
    limit = MAX_TABLE_ROWS if limit is None else limit
    shown = frame.head(limit)
    fmt = formats.active()
    numeric = {c for c, t in frame.schema.items() if t.is_numeric()}
    cols = {
        c: ColumnFormat.of(
            c, shown[c].to_list() if c in numeric else [], fmt,
            integer=True if frame.schema[c].is_integer() else None,
        )
        for c in frame.columns
    }  # fmt: skip
    head = "".join(
        f'<th scope="col" data-type="{"num" if c in numeric else "text"}">'
        f"{esc(cols[c].title(titles.get(c)))}</th>"
        for c in frame.columns
    )
    body = []
    for row in shown.iter_rows():
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in numeric:
                key = _cell_key(value)
                attr = f' data-v="{esc(key)}"' if key is not None else ""
                cells.append(f'<td class="num"{attr}>{esc(cols[column].text(value))}</td>')
            elif isinstance(value, list):
                cells.append(f"<td>{esc(' + '.join(str(v) for v in value))}</td>")
            else:
                cells.append(f"<td>{esc(cols[column].text(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = []
    if filterable and frame.height > 5:
        parts.append(
            f'<input class="filter" type="search" placeholder="Filter rows…" '
            f'aria-label="Filter table" data-table="{esc(table_id)}">'
        )
    parts.append(
        f'<div class="tablewrap"><table class="data" id="{esc(table_id)}"><thead><tr>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )
    if frame.height > limit:
        parts.append(
            f'<p class="note">Showing the first {fmt.integer(limit)} of {fmt.integer(frame.height)}'
            " rows; the full table is in insights.xlsx and the bi/ folder.</p>"
        )
    return "".join(parts)


def absent(what: str, file: str) -> str:
    """The plain note a section shows when the folder lacks a file."""
    return (
        f'<p class="absent">{esc(what)} not available: {esc(file)} is not in this output '
        "folder.</p>"
    )


class _Page:
    """Collects sections, chart containers and their specs."""

    def __init__(self, specs: Mapping[str, dict[str, Any] | None]) -> None:
        self.specs = specs
        self.used: dict[str, dict[str, Any]] = {}
        self.sections: dict[str, list[str]] = {key: [] for key, _ in SECTIONS}

    def add(self, section: str, fragment: str) -> None:
        self.sections[section].append(fragment)

    def chart(self, section: str, slug: str, missing: str = "") -> None:
        title = next(c.title for c in CHARTS if c.slug == slug)
        spec = self.specs.get(slug)
        if spec is None:
            if missing:
                self.add(section, f'<p class="absent">{esc(title)}: {esc(missing)}</p>')
            return
        self.used[slug] = spec
        self.add(
            section,
            f'<div class="chart-title">{esc(title)}</div>'
            f'<div class="chart" id="chart-{slug}" data-spec="spec-{slug}" role="img" '
            f'aria-label="{esc(title)}"></div>',
        )

    def html(self) -> tuple[str, str, str]:
        nav = "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS)
        body = "".join(
            f'<section id="{k}"><h2>{esc(t)}</h2>{"".join(self.sections[k])}</section>'
            for k, t in SECTIONS
        )
        specs = "".join(
            f'<script type="application/json" id="spec-{slug}">{script_json(spec)}</script>'
            for slug, spec in self.used.items()
        )
        return nav, body, specs


def _summary(page: _Page, bundle: Analysis) -> None:
    cards = "".join(
        f'<div class="card"><div class="l">{esc(k.label)}</div><div class="v">{esc(k.value)}'
        f'</div><div class="d">{esc(k.detail)}</div></div>'
        for k in insights.key_numbers(bundle)
    )
    first = "".join(
        f'<li><a href="#{esc(t.anchor)}">{esc(t.title)}</a>: {esc(t.text)}</li>'
        for t in insights.look_first(bundle)
    )
    items = "".join(f"<li>{esc(s)}</li>" for s in insights.summary_sentences(bundle))
    page.add(
        "summary",
        f'<div class="cards">{cards}</div><h3>Look first at</h3><ol class="first">{first}</ol>'
        f'<h3>Insights</h3><ul class="insights">{items}</ul>',
    )


def repr_name(name: object) -> str:
    """The "'Name': " prefix a segment sentence starts with."""
    return f"'{name}': "


def _quality(page: _Page, bundle: Analysis) -> None:
    page.add("quality", f"<p>{esc(insights.quality_sentence(bundle))}</p>")
    page.chart("quality", "cleaning_waterfall")
    if bundle.cleaning is not None:
        page.add("quality", table_html(bundle.cleaning, table_id="t-cleaning"))


def _segments(page: _Page, bundle: Analysis) -> None:
    verdict = insights.verdict_sentence(bundle)
    if verdict:
        page.add("segments", f'<p class="verdict">{esc(verdict)}</p>')
    for i, (row, sentence) in enumerate(
        zip(
            bundle.segments.sort("segment").iter_rows(named=True),
            insights.segment_sentences(bundle),
            strict=True,
        )
    ):
        colour = PALETTE[i % len(PALETTE)]
        page.add(
            "segments",
            f'<div class="persona" style="border-color:{colour}"><strong>Segment '
            f"{esc(row['segment'])}: {esc(row['segment_name'])}</strong><br>"
            f"{esc(sentence.removeprefix(repr_name(row['segment_name'])))}</div>",
        )
    for slug in ("pca_segments", "feature_boxplots", "segment_profiles"):
        page.chart("segments", slug)
    cols = ["segment", "segment_name", "customers", "customer_share", "net_sales", "revenue_share"]
    cols += [c for c in bundle.segments.columns if c.startswith("median__")]
    page.add("segments", "<h3>Segment profiles (medians)</h3>")
    page.add("segments", table_html(bundle.segments.select(cols), table_id="t-segments"))
    page.add("segments", "<h3>Customers</h3>")
    rfm = [c for c in ("rfm_cell", "rfm_r", "rfm_f", "rfm_m") if c in bundle.customers.columns]
    keep = ["customer_id", "customer_name", "segment", "segment_name", *rfm, *bundle.features]
    page.add("segments", table_html(bundle.customers.select(keep), table_id="t-customers"))
    cells = insights.rfm_table(bundle)
    if cells is not None:
        page.add(
            "segments",
            "<h3>RFM cells</h3><p>A second, familiar view: recency, frequency and monetary "
            "quintiles (5 = best) and the usual named cells. It sits beside the segments "
            "above, it does not replace them.</p>",
        )
        page.add("segments", table_html(cells, table_id="t-rfm"))


def _products(page: _Page, bundle: Analysis) -> None:
    if bundle.item_support is None:
        page.add("products", absent("Item support", "item_support.parquet"))
        return
    page.chart("products", "top_items")
    shown = bundle.item_support.filter(pl.col("rank") <= 50).with_columns(
        scope=pl.col("scope").map_elements(bundle.scope_label, return_dtype=pl.String)
    )
    page.add("products", "<h3>Top 50 items per scope</h3>")
    page.add("products", table_html(shown, table_id="t-items"))


RULE_COLUMNS = (
    "rule_id", "scope", "level", "kind", "antecedent_names", "consequent_names", "support",
    "confidence", "lift", "opportunity_customers", "antecedent_count", "both_count",
)  # fmt: skip


def _rules(page: _Page, bundle: Analysis) -> None:
    if bundle.rules is None:
        page.add("rules", absent("Association rules", "rules.parquet"))
        return
    for s in insights.rule_sentences(bundle, top=3):
        page.add("rules", f"<p>{esc(s)}</p>")
    page.chart("rules", "rules_scatter")
    page.chart("rules", "rules_matrix")
    cols = [c for c in RULE_COLUMNS if c in bundle.rules.columns]
    for scope in bundle.rules["scope"].unique(maintain_order=True).to_list():
        part = bundle.rules.filter(pl.col("scope") == scope).sort("lift", descending=True)
        page.add(
            "rules",
            f"<details{' open' if scope == 'all' else ''}><summary>{esc(bundle.scope_label(scope))}"
            f" — {part.height:,} rules</summary>"
            + table_html(
                part.select(cols),
                table_id=f"t-rules-{_slug(scope)}",
                limit=MAX_SCOPE_ROWS,
                titles={"antecedent_names": "customers who buy", "consequent_names": "also buy"},
            )
            + "</details>",
        )


def _opportunities(page: _Page, bundle: Analysis) -> None:
    page.chart(
        "opportunities",
        "rule_opportunities",
        missing="counts of customers missing the recommended item are not in rules.parquet.",
    )
    opp = bundle.opportunities
    if opp is None:
        page.add("opportunities", absent("Opportunities", "opportunities.parquet"))
    else:
        cols = [c for c in ("rank", "customer_name", "customer_id", "segment_name", "item_name",
                            "kind", "expected_value", "confidence", "lift", "rule", "n_rules",
                            "antecedent_orders", "antecedent_recency_days",
                            "rule_id") if c in opp.columns]  # fmt: skip
        # the call list: one table per customer segment, best call (rank) first
        for seg in opp["segment"].unique(maintain_order=True).sort(nulls_last=True).to_list():
            part = opp.filter(pl.col("segment").eq_missing(seg)).sort("rank")
            scope = "unassigned" if seg is None else str(seg)
            page.add(
                "opportunities",
                f"<details><summary>{esc(bundle.scope_label(scope))} — {part.height:,} "
                "opportunities</summary>"
                + table_html(
                    part.select(cols), table_id=f"t-opp-{_slug(scope)}", limit=MAX_SCOPE_ROWS
                )
                + "</details>",
            )
    rec = bundle.recommendations
    page.add("opportunities", "<h3>Recommendations</h3>")
    if rec is None:
        page.add("opportunities", absent("Recommendations", "recommendations.parquet"))
    else:
        cols = [c for c in rec.columns if c not in ("rule_ids",)]
        page.add("opportunities", table_html(rec.select(cols), table_id="t-recs"))
    page.add("opportunities", "<h3>Backtest</h3>")
    if bundle.backtest is None:
        page.add("opportunities", absent("Backtest", "backtest.parquet"))
    else:
        page.chart("opportunities", "backtest")
        page.add("opportunities", table_html(bundle.backtest, table_id="t-backtest"))
        if bundle.backtest_calibration is not None:
            page.chart("opportunities", "backtest_calibration")
            page.add(
                "opportunities",
                "<details><summary>Calibration and money by decile</summary>"
                + table_html(bundle.backtest_calibration, table_id="t-backtest-calibration")
                + "</details>",
            )


def _method(page: _Page, bundle: Analysis) -> None:
    run = bundle.info
    page.chart("method", "k_selection")
    page.chart("method", "pca_loadings")
    defs = bundle.feature_definitions
    if defs:
        used = set(bundle.features)
        rows = "".join(
            f"<dt>{esc(k)}{' (used)' if k in used else ''}</dt><dd>{esc(v)}</dd>"
            for k, v in defs.items()
        )
        page.add("method", f"<details><summary>Feature definitions</summary><dl class='params'>"
                           f"{rows}</dl></details>")  # fmt: skip
    for key, label in (("parameters", "Parameters"), ("rows", "Rows"), ("inputs", "Inputs"),
                       ("timings_s", "Timings (seconds)"), ("versions", "Versions")):  # fmt: skip
        if key in run:
            page.add("method", f"<details><summary>{esc(label)}</summary>{_dl(run[key])}</details>")


def _dl(value: Any, prefix: str = "") -> str:
    flat = _flatten(value, prefix)
    return (
        "<dl class='params'>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in flat)
        + "</dl>"
    )


def _flatten(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = []
        for i, v in enumerate(value):
            out += _flatten(v, f"{prefix}[{i}]")
        return out
    return [
        (prefix, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
    ]


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in str(text))[:40]


def render_html(
    bundle: Analysis,
    specs: Mapping[str, dict[str, Any] | None],
    *,
    path: Path,
    notes: Sequence[str] = (),
    vega_js: str | Future[str] | None = None,
    fmt: formats.NumberFormat | None = None,
) -> Path:
    """Write the report page to ``path`` and return it.

    ``vega_js``: the chart library bundle, or a future of it (built beside the tables);
    default :func:`vega_bundle`. ``fmt``: how numbers read (default: the active format).

    Example:
        >>> render_html(bundle, build_specs(bundle), path=Path("out/report.html"))  # doctest: +SKIP
    """
    fmt = fmt or formats.active()
    with formats.using(fmt):
        page = _Page(specs)
        _summary(page, bundle)
        for note in [*insights.data_notes(bundle), *notes]:
            page.add("summary", f'<p class="note">{esc(note)}</p>')
        _quality(page, bundle)
        _segments(page, bundle)
        _products(page, bundle)
        _rules(page, bundle)
        _opportunities(page, bundle)
        _method(page, bundle)
        nav, body, spec_tags = page.html()
        subtitle = insights.subtitle(bundle)
    if isinstance(vega_js, Future):
        vega_js = vega_js.result()
    template = Template(
        resources.files("basketlens.report").joinpath("template.html").read_text(encoding="utf-8")
    )
    text = template.substitute(
        title=esc("basketlens report — customer segments and cross-sell"),
        subtitle=esc(subtitle),
        version=esc(__version__),
        nav=nav,
        body=body,
        specs=spec_tags,
        format_locale=script_json(fmt.d3_locale()),
        vega_js=vega_js if vega_js is not None else vega_bundle(),
    )
    path.write_text(text, encoding="utf-8")
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
