"""What the report and the command line show of rule kinds, levels and the call list: the
opportunity chart's spread of rules, the Excel segment sheets, the BI bridge, the flags."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.report.bi import star_tables
from basketlens.report.charts import CHARTS, build_spec
from basketlens.report.insights import rule_sentences
from basketlens.runfolder.read import read_run


def _bundle(tmp_path: Path, make_output_folder):
    return read_run(make_output_folder(tmp_path / "out"), model=False)


def test_opportunity_chart_shows_the_spread_of_lead_rules(tmp_path, make_output_folder) -> None:
    bundle = _bundle(tmp_path, make_output_folder)
    chart = next(c for c in CHARTS if c.slug == "rule_opportunities")
    spec = build_spec(chart, bundle)
    assert spec is not None
    rows = next(iter(spec["datasets"].values()))
    calls = bundle.opportunities
    for seg_label in {r["seg_label"] for r in rows}:
        shown = [r for r in rows if r["seg_label"] == seg_label]
        segment = int(seg_label.split(" ")[0])
        best = calls.filter(pl.col("segment") == segment).sort("rank").head(50)
        # every call of the segment's top 50 is counted once, on its lead rule's bar or "other"
        assert sum(r["calls"] for r in shown) == best.height
        assert len(shown) <= 9
        if best["rule"].n_unique() > 8:
            other = best["rule"].n_unique() - 8
            assert shown[-1]["rule"].startswith(f"{other} other rules, at most ")
    title = spec["title"]["text"] if isinstance(spec["title"], dict) else spec["title"]
    assert "top 50 calls" in title


def test_segment_sheet_shows_the_call_list_and_its_spread(tmp_path, make_output_folder) -> None:
    from basketlens.report.excel import write_workbook

    bundle = _bundle(tmp_path, make_output_folder)
    path = write_workbook(bundle, path=tmp_path / "insights.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    seg = bundle.opportunities["segment"].mode().sort()[0]
    sheet = book[next(n for n in book.sheetnames if n.startswith(f"Seg {seg}"))]
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    texts = [str(c) for row in rows for c in row if c is not None]
    assert any(t.startswith("Spread of rules over the call list") for t in texts)
    header = next(row for row in rows if row and row[0] == "rule" and "calls" in row)
    assert {"share of calls (%)", "best rank", "items"} <= {str(c) for c in header if c}
    call_header = next(row for row in rows if row and row[0] == "rank")
    for column in ("customer name", "item name", "kind", "rule", "n rules", "rule ids"):
        assert column in call_header, column
    calls = bundle.opportunities.filter(pl.col("segment") == seg)
    assert str(calls.sort("rank")["customer_name"][0]) in texts


def test_bi_bridge_maps_family_rules_to_their_items(tmp_path, make_output_folder) -> None:
    bundle = _bundle(tmp_path, make_output_folder)
    tables = star_tables(bundle)
    bridge = tables["bridge_rule_items"]
    assert set(bridge.columns) == {"rule_id", "item_id", "role", "level", "via"}
    family = bridge.filter(pl.col("rule_id") == "all-f000001")
    assert sorted(family.filter(pl.col("role") == "antecedent")["item_id"]) == ["I000", "I001"]
    assert sorted(family.filter(pl.col("role") == "consequent")["item_id"]) == ["I002", "I003"]
    assert set(bridge["item_id"]) <= set(tables["dim_item"]["item_id"])
    # a fixed row order, so that two runs of one ledger write the same file: item rules, then
    # group rules, each side in the rules' order, a group's items as families.parquet lists them
    assert bridge.select(["rule_id", "role", "via", "item_id"]).is_unique().all()
    assert bridge.equals(star_tables(bundle)["bridge_rule_items"])
    order = bundle.rules["rule_id"].to_list()
    for part in bridge.partition_by("level", "role", maintain_order=True):
        ranks = [order.index(r) for r in part["rule_id"]]
        assert ranks == sorted(ranks)
    assert bundle.families is not None
    for (via,), part in family.group_by("via", maintain_order=True):
        listed = bundle.families.filter(pl.col("family") == via)["item"].to_list()
        assert part["item_id"].to_list() == listed
    rules = tables["fact_rules"]
    assert rules.filter(pl.col("rule_id") == "all-f000001")["consequent_item_id"].item() is None
    opp = tables["fact_opportunities"]
    assert set(opp["item_id"]) <= set(tables["dim_item"]["item_id"])
    assert opp.schema["rule_ids"] == pl.String


def test_headline_quotes_cross_sell_rules_only(tmp_path, make_output_folder) -> None:
    bundle = _bundle(tmp_path, make_output_folder)
    variant = bundle.rules.filter(pl.col("kind") == "variant")
    best_variant = variant.filter(pl.col("scope") == "all").sort("lift", descending=True)
    names = best_variant["consequent_names"][0][0]
    sentences = rule_sentences(bundle, top=100)
    assert sentences and not any(f"also buy {names} in" in s for s in sentences)


def test_run_offers_the_new_flags_and_mine_keeps_its_own() -> None:
    run_help = CliRunner().invoke(app, ["run", "--help"], terminal_width=200).output
    for flag in ("--variants", "--diversity", "--no-generalised-rules", "--max-rules",
                 "--min-customers", "--keep-redundant", "--significance-test"):  # fmt: skip
        assert flag in run_help, flag
    mine_help = CliRunner().invoke(app, ["mine", "--help"], terminal_width=200).output
    assert "--max-rules" in mine_help and "--significance-test" in mine_help
    assert "--min-customers" not in mine_help and "--no-generalised-rules" not in mine_help


def test_segment_sheet_caps_long_lists_and_says_so(tmp_path, make_output_folder, monkeypatch):
    from basketlens.report import excel

    monkeypatch.setattr(excel, "MAX_SEGMENT_OPPORTUNITIES", 2)
    monkeypatch.setattr(excel, "MAX_SEGMENT_RULES", 1)
    bundle = _bundle(tmp_path, make_output_folder)
    path = excel.write_workbook(bundle, path=tmp_path / "capped.xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    seg = bundle.opportunities["segment"].mode().sort()[0]
    sheet = book[next(n for n in book.sheetnames if n.startswith(f"Seg {seg}"))]
    texts = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    calls = bundle.opportunities.filter(pl.col("segment") == seg).height
    rules = bundle.rules.filter(pl.col("scope") == str(seg)).height
    assert f"{calls - 2:,} more calls are in opportunities.parquet" in texts
    assert f"{rules - 1:,} more rules are in the Rules sheet" in texts
