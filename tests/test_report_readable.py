"""What a reader meets (issue 13): locale-correct numbers in the HTML and the workbook, money with
currency and period, sentences that say what they count, the readable boxplot, the bare-code
note, and the rendering engine (concurrent PNGs, unchanged charts kept, cached bundle)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import polars as pl
import pytest

from basketlens.report import formats, insights, render_report
from basketlens.report import html as report_html
from basketlens.report import png as png_io
from basketlens.report._charts_customers import box_stats, feature_boxplots
from basketlens.report.charts import CHARTS, build_specs
from basketlens.runfolder.read import read_run

openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory, make_output_folder) -> Path:
    """A run folder rendered for a German reader, amounts in euros."""
    out = make_output_folder(tmp_path_factory.mktemp("de") / "out", n_customers=1300)
    render_report(out, locale="de-DE", currency="EUR", charts=False, bi=False)
    return out


def _cells(html: str, table_id: str) -> list[list[str]]:
    table = html[html.index(f'id="{table_id}"') :]
    table = table[: table.index("</table>")]
    return [
        [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table)
        if "<td" in row
    ]


def _headers(html: str, table_id: str) -> list[str]:
    table = html[html.index(f'id="{table_id}"') :]
    return re.findall(r"<th[^>]*>(.*?)</th>", table[: table.index("</thead>")])


# --- HTML ----------------------------------------------------------------------------------


def test_html_numbers_use_the_locale_and_counts_have_no_decimals(german: Path) -> None:
    html = (german / "report.html").read_text(encoding="utf-8")
    heads = _headers(html, "t-segments")
    rows = _cells(html, "t-segments")
    customers = heads.index("customers")
    assert rows[0][customers] == "434"  # an integer column: no ",000"
    money = next(i for i, h in enumerate(heads) if h.startswith("net sales"))
    assert heads[money] == "net sales (EUR, 2025-01-01 to 2025-12-31)"
    assert rows[0][money] == "50.000\xa0€"  # German grouping, euro after the amount
    share = heads.index("customer share (%)")
    assert rows[0][share] == "33,4%"
    # the customers table: 1,300 rows → the note counts with German separators
    assert "Showing the first 1.300 of" not in html  # under the cap
    assert "1.300 customers" in html  # the subtitle


def test_summary_cards_label_counts_money_and_period(german: Path) -> None:
    html = (german / "report.html").read_text(encoding="utf-8")
    assert "Net sales" in html and "EUR, 2025-01-01 to 2025-12-31" in html
    assert "Look first at" in html
    assert html.count('<ol class="first"><li>') == 1
    assert len(re.findall(r'<li><a href="#(segments|opportunities|rules|quality)">', html)) == 3


def test_charts_get_the_locale(german: Path) -> None:
    html = (german / "report.html").read_text(encoding="utf-8")
    tag = re.search(r'<script type="application/json" id="format-locale">(.*?)</script>', html)
    assert tag is not None
    locale = json.loads(tag.group(1))
    assert locale["decimal"] == "," and locale["currency"] == ["", "\xa0€"]
    assert "formatLocale: formatLocale" in html


# --- workbook ------------------------------------------------------------------------------


def test_summary_sheet_stores_numbers_with_number_formats(german: Path) -> None:
    ws = openpyxl.load_workbook(german / "insights.xlsx")["Summary"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=3, max_row=12) if r[0].value}
    lines = rows["Sales lines used"][1]
    assert lines.value == 900 and lines.data_type == "n" and lines.number_format == "#,##0"
    customers = rows["Customers"][1]
    assert customers.value == 1300 and customers.data_type == "n"
    assert rows["Customers"][2].value == "2025-01-01 to 2025-12-31"  # the period beside it
    sales = rows["Net sales"][1]
    assert isinstance(sales.value, float) and sales.number_format == '#,##0" €"'
    assert "EUR, 2025-01-01 to 2025-12-31" in rows["Net sales"][2].value


def test_segment_sheets_have_short_names_and_the_full_name_first(
    tmp_path: Path, make_output_folder
) -> None:
    out = make_output_folder(tmp_path / "out")
    segments = pl.read_parquet(out / "segments.parquet").with_columns(
        segment_name=pl.format("Frequent high-volume buyers with large baskets {}", "segment")
    )
    segments.write_parquet(out / "segments.parquet")
    customers = pl.read_parquet(out / "customers.parquet")
    names = dict(zip(segments["segment"], segments["segment_name"], strict=True))
    customers.with_columns(
        segment_name=pl.col("segment").replace_strict(names, return_dtype=pl.String)
    ).write_parquet(out / "customers.parquet")
    book = openpyxl.load_workbook(render_report(out, html=False, charts=False, bi=False).excel)
    sheets = [n for n in book.sheetnames if n.startswith("Seg ")]
    assert sheets == ["Seg 0", "Seg 1", "Seg 2"]
    full = "Segment 1: Frequent high-volume buyers with large baskets 1"
    assert book["Seg 1"]["A1"].value == full


def test_workbook_columns_are_typed_and_titled(german: Path) -> None:
    ws = openpyxl.load_workbook(german / "insights.xlsx")["Segments"]
    header = [c.value for c in ws[1]]
    median = header.index("median invoice count") + 1
    assert ws.cell(row=2, column=median).data_type == "n"
    sales = next(i for i, h in enumerate(header) if h.startswith("net sales")) + 1
    assert ws.cell(row=2, column=sales).number_format == '#,##0" €"'


# --- sentences -----------------------------------------------------------------------------


def test_sentences_say_what_they_count(tmp_path: Path, make_output_folder) -> None:
    bundle = read_run(make_output_folder(tmp_path / "out"), model=False)
    with formats.using(formats.NumberFormat.for_locale("en-GB", currency="GBP")):
        rules = insights.rule_sentences(bundle, top=2)
        segments = insights.segment_sentences(bundle)
        keys = {k.label: k for k in insights.key_numbers(bundle)}
    for sentence in rules:
        assert sentence.startswith("In ") and "baskets that contain" in sentence
        assert "Customers who buy" not in sentence  # no mixing customers and baskets
    assert "customers)" in segments[0] and "of net sales, £50.0k in 2025-01-01" in segments[0]
    assert keys["Baskets"].number == 200 and keys["Baskets"].detail.startswith("invoices")
    assert keys["Net sales"].kind == "money"


def test_bare_item_codes_are_noted_with_what_to_map(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out")
    bundle = read_run(out, model=False)
    assert insights.data_notes(bundle) == []  # the fixture's items have names
    items = bundle.items.with_columns(item_name=pl.col("item"))
    items.write_parquet(out / "items.parquet")
    note = insights.data_notes(read_run(out, model=False))
    assert len(note) == 1 and "--map item_name=COLUMN" in note[0] and "category" in note[0]
    barcodes = bundle.items.with_columns(item_name=pl.lit("5012345678900"))
    barcodes.write_parquet(out / "items.parquet")
    assert insights.data_notes(read_run(out, model=False))
    render_report(out, excel=False, charts=False, bi=False)
    assert "Items are shown by their codes" in (out / "report.html").read_text(encoding="utf-8")


# --- the boxplot ---------------------------------------------------------------------------


def _skewed(out: Path) -> None:
    """One whale per segment: a feature as skewed as real ledgers' (z ≈ 40 for the whale)."""
    customers = pl.read_parquet(out / "customers.parquet")
    whales = pl.int_range(pl.len()) < 3
    customers.with_columns(
        total_net_sales=pl.when(whales).then(2_000_000.0).otherwise(pl.col("total_net_sales"))
    ).write_parquet(out / "customers.parquet")


def test_boxplot_is_one_panel_per_feature_clipped_to_the_whiskers(
    tmp_path: Path, make_output_folder
) -> None:
    out = make_output_folder(tmp_path / "out", n_customers=300)
    _skewed(out)
    bundle = read_run(out, model=False)
    stats = box_stats(bundle, "total_net_sales")
    assert stats["n_high"].sum() == 3  # the whales lie beyond the whiskers …
    assert (stats["hi"] < 2_000_000).all()  # … and out of the view
    assert (stats["q1"] <= stats["median"]).all() and (stats["median"] <= stats["q3"]).all()
    spec = feature_boxplots(bundle).to_dict(validate=False)
    assert len(spec["concat"]) == len(bundle.features)  # one panel per feature
    titles = [p["title"]["text"] for p in spec["concat"]]
    assert titles[0].startswith("total net sales (")
    text = json.dumps(spec)
    assert "stdev" not in text and "Standardised" not in text  # each feature in its own unit
    assert all(len(p["layer"]) == 5 for p in spec["concat"])
    # the ▲ / ▼ labels: a count where customers lie beyond the whiskers, else nothing (not
    # None, which Vega would print as "null")
    labels = [r[k] for p in spec["concat"] for r in p["data"]["values"] for k in ("above", "below")]
    assert any(x.startswith("▲ ") for x in labels)
    assert all(isinstance(x, str) for x in labels) and "" in labels
    # SI prefixes only where the axis reaches thousands: 0.5 orders a month, not "500m"
    for feature, panel in zip(bundle.features, spec["concat"], strict=True):
        formats_used = set(re.findall(r'"format": "([^"]+)"', json.dumps(panel)))
        if box_stats(bundle, feature)["hi"].max() < 1_000:
            assert not any(f.endswith("s") for f in formats_used), (feature, formats_used)
    small = [f for f in bundle.features if box_stats(bundle, f)["hi"].max() < 1_000]
    assert small and "total_net_sales" not in small  # the test sees both kinds of axis


def test_basket_type_panels_are_named_by_their_leading_item() -> None:
    """The boxplot titles a basket type from the definition the features stage records."""
    from basketlens.clean import clean_ledger
    from basketlens.features import build_customer_features
    from basketlens.ingest import load_ledger
    from basketlens.report._charts_customers import _basket_type_name
    from basketlens.synth import generate_ledger

    cleaned = clean_ledger(load_ledger(generate_ledger(n_customers=120, seed=3).sales))
    features = build_customer_features(cleaned.lines, items=cleaned.items)
    mix = [f for f in features.definitions if f.startswith("mix__")]
    assert mix
    for feature in mix:
        name = _basket_type_name(feature, features.definitions)
        assert name is not None and name.startswith(f"basket type {feature[5:]}: ")
        assert len(name) > len(f"basket type {feature[5:]}: ")
    assert _basket_type_name("total_net_sales", features.definitions) is None
    assert _basket_type_name("mix__1", {}) is None  # an older run without definitions


def test_boxplot_png_is_drawn(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out", n_customers=300)
    _skewed(out)
    files = render_report(out, html=False, excel=False, bi=False)
    png = next(p for p in files.charts if p.stem == "feature_boxplots")
    assert png.stat().st_size > 20_000


# --- the rendering engine ------------------------------------------------------------------


def test_charts_report_progress_and_unchanged_pngs_are_kept(
    tmp_path: Path, make_output_folder
) -> None:
    out = make_output_folder(tmp_path / "out")
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            seen.append((done, total))

    first = render_report(out, html=False, excel=False, bi=False, progress=progress)
    assert sorted(seen) == [(i, len(CHARTS)) for i in range(1, len(CHARTS) + 1)]
    assert first.reused == ()
    stamps = {p: p.stat().st_mtime_ns for p in first.charts}
    again = render_report(out, html=False, excel=False, bi=False)
    assert set(again.reused) == set(first.charts)  # nothing changed: nothing redrawn
    assert {p: p.stat().st_mtime_ns for p in again.charts} == stamps
    # another locale changes every chart's number format: all are redrawn
    other = render_report(out, html=False, excel=False, bi=False, locale="fr-FR")
    assert other.reused == ()


def test_png_fingerprint_round_trips_and_tolerates_foreign_files(tmp_path: Path) -> None:
    spec = {"mark": "bar"}
    key = png_io.spec_fingerprint(spec, {})
    assert key != png_io.spec_fingerprint(spec, {"decimal": ","})
    png = png_io.with_text_chunk(png_io._TINY_PNG, png_io.PNG_KEY, key.encode())
    path = tmp_path / "a.png"
    path.write_bytes(png)
    assert png_io.png_fingerprint(path) == key
    path.write_bytes(png_io._TINY_PNG)
    assert png_io.png_fingerprint(path) is None
    assert png_io.png_fingerprint(tmp_path / "missing.png") is None
    path.write_bytes(b"not a png")
    assert png_io.png_fingerprint(path) is None


def test_vega_bundle_is_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    report_html.vega_bundle.cache_clear()
    calls = []
    monkeypatch.setattr(
        report_html.vl_convert, "javascript_bundle", lambda: calls.append(1) or "var vega = 1;"
    )
    try:
        assert report_html.vega_bundle() == "var vega = 1;"
        assert report_html.bundle_cache_path().read_text() == "var vega = 1;"
        report_html.vega_bundle.cache_clear()
        assert report_html.vega_bundle() == "var vega = 1;"
        assert calls == [1]  # the second process-start read the file
    finally:
        report_html.vega_bundle.cache_clear()


def test_specs_and_html_do_not_depend_on_the_pool(tmp_path: Path, make_output_folder) -> None:
    """The engine renders the same page and specs as the parts called one by one."""
    out = make_output_folder(tmp_path / "out")
    bundle = read_run(out, model=False)
    files = render_report(out, excel=False, bi=False, locale="en-US")
    with formats.using(formats.NumberFormat.for_locale("en-US")):
        specs = build_specs(bundle)
    page = files.html.read_text(encoding="utf-8")
    for slug, spec in specs.items():
        if spec is not None:
            assert f'id="spec-{slug}"' in page
    assert files.seconds["total"] > 0 and "charts" in files.seconds
