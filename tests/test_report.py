"""Report rendering from an output folder: HTML escaping and offline-ness, PNGs, BI tables, CLI."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.errors import ModelError
from basketlens.report import render_report
from basketlens.report.charts import CHARTS, build_specs, truncate
from basketlens.report.html import script_json
from basketlens.runfolder.read import read_run as load_bundle


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory, make_output_folder):
    out = make_output_folder(tmp_path_factory.mktemp("hostile") / "out", hostile=True)
    return render_report(out, csv=True)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


# --- loading -------------------------------------------------------------------------------


def test_a_folder_that_is_not_an_output_names_the_missing_file(
    tmp_path: Path, make_output_folder
) -> None:
    with pytest.raises(ModelError, match=r"run\.json is missing"):
        load_bundle(tmp_path)
    out = make_output_folder(tmp_path / "out")
    (out / "segments.parquet").unlink()
    with pytest.raises(ModelError, match=r"segments\.parquet"):
        load_bundle(out)
    with pytest.raises(ModelError, match="does not exist"):
        load_bundle(tmp_path / "nowhere")


def test_a_table_without_a_needed_column_is_refused(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out")
    pl.read_parquet(out / "rules.parquet").drop("lift").write_parquet(out / "rules.parquet")
    with pytest.raises(ModelError, match=r"rules\.parquet lacks column\(s\) lift"):
        load_bundle(out)


def test_optional_files_are_none_when_absent(tmp_path: Path, make_output_folder) -> None:
    bundle = load_bundle(make_output_folder(tmp_path / "out", opportunities=False))
    assert bundle.rules is not None and "opportunity_customers" not in bundle.rules.columns
    assert bundle.opportunities is None and bundle.recommendations is None
    assert bundle.backtest is None
    assert bundle.scope_label("all") == "All customers"
    assert bundle.scope_label("1") == "Segment 1: Frequent buyers"


# --- HTML ----------------------------------------------------------------------------------


def test_html_escapes_every_hostile_string(hostile_report) -> None:
    text = hostile_report.html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # the only raw </script> tags are the page's own script elements
    scripts = re.findall(r"<script\b[^>]*>", text)
    assert text.count("</script>") == len(scripts)
    assert "<!-- x" not in text
    assert "\\u003c/script\\u003e\\u003c!-- x" in text  # inside the chart JSON


def test_script_json_cannot_close_the_script_element() -> None:
    value = {"name": "</script><!-- & \u2028"}
    text = script_json(value)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


def test_html_is_self_contained_and_offline(hostile_report) -> None:
    text = hostile_report.html.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", text) is None
    assert re.search(r"<link[^>]+href=", text) is None
    assert "window.vegaEmbed" in text  # vega-embed, vega-lite and vega are inlined
    assert "connect-src 'none'" in text  # the CSP forbids fetch/XHR
    assert hostile_report.html.stat().st_size < 10_000_000


def test_every_chart_present_in_the_folder_is_embedded(hostile_report) -> None:
    text = hostile_report.html.read_text(encoding="utf-8")
    for chart in CHARTS:
        assert f'id="chart-{chart.slug}"' in text, chart.slug


def test_absent_sections_say_so(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out", mining=False)
    files = render_report(out, excel=False, charts=False, bi=False)
    text = files.html.read_text(encoding="utf-8")
    for name in ("rules.parquet", "item_support.parquet", "opportunities.parquet",
                 "recommendations.parquet", "backtest.parquet"):  # fmt: skip
        assert f"{name} is not in this output folder" in text
    assert 'id="chart-rules_scatter"' not in text


def test_large_tables_are_capped_with_a_note(
    tmp_path: Path, monkeypatch, make_output_folder
) -> None:
    import basketlens.report._charts_customers as customer_charts
    import basketlens.report.html as html

    monkeypatch.setattr(html, "MAX_TABLE_ROWS", 10)
    monkeypatch.setattr(customer_charts, "MAX_POINTS", 25)
    out = make_output_folder(tmp_path / "out", n_customers=80)
    text = render_report(out, excel=False, charts=False, bi=False).html.read_text("utf-8")
    assert "Showing the first 10 of 80 rows" in text
    spec = build_specs(load_bundle(out))["pca_segments"]
    points = spec["datasets"][spec["data"]["name"]]
    assert len(points) == 25
    assert "random sample of 25 of 80" in json.dumps(spec)


def test_insights_quote_the_tables(tmp_path: Path, make_output_folder) -> None:
    from basketlens.report import insights

    bundle = load_bundle(make_output_folder(tmp_path / "out"))
    sentences = insights.segment_sentences(bundle)
    assert sentences[0].startswith(
        "'Premium boutique': 33% of customers (20 customers), 60% of net sales, 50.0k in "
        "2025-01-01 to 2025-12-31."
    )
    # the rule with most opportunity customers of segment 0 is quoted with its count
    top = bundle.rules.filter(pl.col("scope") == "0").sort(
        ["opportunity_customers", "lift"], descending=True
    )
    assert f"{top['opportunity_customers'][0]:,} of its customers buy" in sentences[0]
    assert "worth about" in sentences[0]


def test_truncate_keeps_short_text_and_marks_cuts() -> None:
    assert truncate("Brie", 10) == "Brie"
    assert truncate("x" * 50, 10) == "x" * 9 + "…"


# --- charts --------------------------------------------------------------------------------


def test_pngs_exist_and_are_not_trivial(hostile_report) -> None:
    names = {p.stem for p in hostile_report.charts}
    assert names == {c.slug for c in CHARTS}
    for path in hostile_report.charts:
        width, height = _png_size(path)
        assert width >= 300 and height >= 200, path.name
        assert path.stat().st_size > 15_000, path.name


def test_segment_colours_are_the_same_in_every_chart(tmp_path: Path, make_output_folder) -> None:
    specs = build_specs(load_bundle(make_output_folder(tmp_path / "out")))
    scales = set()
    for spec in specs.values():
        for match in re.finditer(r'"domain": (\[[^\]]*Premium boutique[^\]]*\]), "range": '
                                 r'(\[[^\]]*\])', json.dumps(spec)):  # fmt: skip
            domain, colours = json.loads(match.group(1)), json.loads(match.group(2))
            scales.add(
                tuple(c for d, c in zip(domain, colours, strict=True) if d != "All customers")
            )
    assert len(scales) == 1


def test_a_stale_png_is_removed_when_its_data_is_gone(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out")
    render_report(out, html=False, excel=False, bi=False)
    assert (out / "charts" / "backtest.png").exists()
    (out / "backtest.parquet").unlink()
    render_report(out, html=False, excel=False, bi=False)
    assert not (out / "charts" / "backtest.png").exists()


# --- BI ------------------------------------------------------------------------------------


def test_bi_tables_form_a_star_whose_keys_join(hostile_report, hostile_names) -> None:
    bi = hostile_report.out_dir / "bi"
    t = {p.stem: pl.read_parquet(p) for p in bi.glob("*.parquet")}
    assert set(t) == {
        "dim_segment", "dim_customer", "dim_item", "fact_rules", "bridge_rule_items",
        "fact_opportunities", "fact_recommendations",
    }  # fmt: skip
    assert t["dim_segment"]["segment_key"].is_unique().all()
    assert t["dim_customer"]["customer_id"].is_unique().all()
    assert t["dim_item"]["item_id"].is_unique().all()
    segs = set(t["dim_segment"]["segment_key"])
    assert set(t["dim_customer"]["segment_key"]) <= segs
    assert set(t["fact_rules"]["segment_key"]) <= segs
    assert set(t["fact_opportunities"]["customer_id"]) <= set(t["dim_customer"]["customer_id"])
    assert set(t["fact_opportunities"]["rule_id"]) <= set(t["fact_rules"]["rule_id"])
    assert set(t["bridge_rule_items"]["item_id"]) <= set(t["dim_item"]["item_id"])
    assert set(t["fact_recommendations"]["item_id"]) <= set(t["dim_item"]["item_id"])
    for name, table in t.items():
        assert not any(isinstance(d, pl.List) for d in table.dtypes), name
        assert (bi / f"{name}.csv").is_file()
    assert hostile_names[0] in t["dim_customer"]["customer_name"].to_list()  # data kept exactly


# --- CLI -----------------------------------------------------------------------------------


def test_cli_renders_a_folder(tmp_path: Path, make_output_folder) -> None:
    out = make_output_folder(tmp_path / "out")
    result = CliRunner().invoke(app, ["report", str(out), "--no-charts", "--csv"])
    assert result.exit_code == 0, result.output
    assert "report rendered" in result.output
    assert (out / "report.html").is_file() and (out / "insights.xlsx").is_file()
    assert (out / "bi" / "fact_rules.csv").is_file()
    assert not (out / "charts").exists()


def test_cli_names_the_missing_file_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 1
    assert "run.json is missing" in result.output
    assert "Traceback" not in result.output


def test_report_command_has_an_example() -> None:
    from basketlens.cli.report import report_command

    assert "Example:" in (report_command.__doc__ or "")


def test_truncated_labels_of_different_items_stay_apart() -> None:
    from basketlens.report._chart_base import distinct_labels

    frame = pl.DataFrame(
        {"scope": ["all", "all", "all", "0"], "label": ["Lait…", "Lait…", "Oeufs", "Lait…"],
         "item": ["1", "2", "3", "1"]}
    )  # fmt: skip
    out = distinct_labels(frame, "label", "item", by=["scope"])
    assert out["label"].to_list() == ["Lait… #1", "Lait… #2", "Oeufs", "Lait…"]
