"""``basketlens mine`` in process: golden Groceries numbers, the three formats, pruning flags."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.mining import MiningOptions, mine_rules, read_baskets

runner = CliRunner()


def _mine(*args: str) -> None:
    result = runner.invoke(app, ["mine", *args])
    assert result.exit_code == 0, result.output


def test_groceries_through_the_cli_gives_the_published_rules(tmp_path: Path, shared_path) -> None:
    path = shared_path("groceries", "groceries.csv.gz")
    out = tmp_path / "rules.parquet"
    _mine(str(path), "--min-support", "0.001", "--min-confidence", "0.5", "--out", str(out))
    rules = pl.read_parquet(out)
    assert rules.height == 5_668
    assert rules["antecedent"].dtype == pl.List(pl.String)
    pruned = tmp_path / "pruned.parquet"
    _mine(
        str(path),
        "--min-support",
        "0.001",
        "--prune-redundant",
        "--significant",
        "0.05",
        "--top",
        "50",
        "--out",
        str(pruned),
    )
    top = pl.read_parquet(pruned)
    assert top.height == 50
    assert set(top["rule_id"]) <= set(rules["rule_id"])
    assert top["lift"].is_sorted(descending=True)


def test_long_and_fimi_formats_agree(tmp_path: Path) -> None:
    baskets = [["a", "b", "c"], ["a", "b"], ["a", "c"], ["b", "c"], ["a", "b", "c"]]
    pl.DataFrame(
        {
            "order": [str(i) for i, b in enumerate(baskets) for _ in b],
            "sku": [x for b in baskets for x in b],
        }
    ).write_parquet(tmp_path / "long.parquet")
    codes = {"a": "1", "b": "2", "c": "3"}
    (tmp_path / "b.dat").write_text("\n".join(" ".join(codes[x] for x in b) for b in baskets))
    _mine(
        str(tmp_path / "long.parquet"),
        "--format",
        "long",
        "--basket-col",
        "order",
        "--item-col",
        "sku",
        "--min-count",
        "2",
        "--min-confidence",
        "0.6",
        "--out",
        str(tmp_path / "long_rules.parquet"),
    )
    _mine(
        str(tmp_path / "b.dat"),
        "--format",
        "fimi",
        "--min-count",
        "2",
        "--min-confidence",
        "0.6",
        "--out",
        str(tmp_path / "fimi_rules.parquet"),
    )
    long_rules = pl.read_parquet(tmp_path / "long_rules.parquet")
    fimi_rules = pl.read_parquet(tmp_path / "fimi_rules.parquet")
    inverse = {v: k for k, v in codes.items()}
    as_letters = fimi_rules.with_columns(
        pl.col("antecedent").list.eval(pl.element().replace_strict(inverse)),
        pl.col("consequent").list.eval(pl.element().replace_strict(inverse)),
    )
    key = ["antecedent", "consequent", "both_count", "antecedent_count"]
    assert long_rules.select(key).sort(key).equals(as_letters.select(key).sort(key))
    # a -> b: 3 of the 4 baskets with a also hold b
    ab = long_rules.filter((pl.col("antecedent") == ["a"]) & (pl.col("consequent") == ["b"]))
    assert ab["both_count"].to_list() == [3] and ab["confidence"].to_list() == [0.75]


def test_missing_long_column_is_named(tmp_path: Path) -> None:
    pl.DataFrame({"basket": ["1"], "item": ["a"]}).write_csv(tmp_path / "l.csv")
    result = runner.invoke(
        app,
        [
            "mine",
            str(tmp_path / "l.csv"),
            "--format",
            "long",
            "--item-col",
            "sku",
            "--min-count",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "no column 'sku'" in result.output and "Traceback" not in result.output


def test_cli_is_mine_rules_and_its_search_honours_the_filters(tmp_path: Path, shared_path) -> None:
    """Regression: the command's own threshold search ignored --min-lift, --min-len and
    --multi-consequent; now it calls mine_rules, so the file holds what the search counted."""
    path = shared_path("groceries", "groceries.csv.gz")
    out = tmp_path / "rules.parquet"
    flags = ["--min-lift", "3", "--min-len", "3", "--multi-consequent", "--target-rules", "60"]
    result = runner.invoke(app, ["mine", str(path), *flags, "--out", str(out)])
    assert result.exit_code == 0, result.output
    options = MiningOptions(min_lift=3.0, min_len=3, consequent_max_len=None, target_rules=60)
    expected = mine_rules(read_baskets(path), options)
    search = expected.info["threshold_search"]
    assert f"threshold help: min_count {search['min_count']} " in result.output
    assert pl.read_parquet(out).equals(expected.table)
    assert len(expected) == search["n_rules"] and 30 <= len(expected) <= 90


def test_invalid_flags_are_refused_before_reading(tmp_path: Path) -> None:
    result = runner.invoke(app, ["mine", str(tmp_path / "missing.csv"), "--min-support", "1.5"])
    assert result.exit_code == 1
    assert "min_support must be in (0, 1]; got 1.5" in result.output
    result = runner.invoke(app, ["mine", str(tmp_path / "missing.csv"), "--sort-by", "lfit"])
    assert result.exit_code == 1 and "did you mean 'lift'" in result.output
