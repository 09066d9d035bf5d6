"""``read_baskets``: the three basket file formats give the same matrix."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from basketlens.errors import InputError, ParameterError, SchemaError
from basketlens.mining import read_baskets

BASKETS = [["milk", "bread"], ["milk"], ["beer", "bread", "milk"], ["beer"]]
CODES = {"beer": "3", "bread": "1", "milk": "2"}


def as_sets(m) -> list[set[str]]:
    return [
        {m.items[c] for c in m.indices[a:b]}
        for a, b in zip(m.indptr[:-1], m.indptr[1:], strict=True)
    ]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "b.csv").write_text("\n".join(",".join(b) for b in BASKETS) + "\n")
    (tmp_path / "b.txt").write_text("\n".join("|".join(b) for b in BASKETS) + "\n")
    (tmp_path / "b.dat").write_text("\n".join(" ".join(CODES[x] for x in b) for b in BASKETS))
    long = pl.DataFrame(
        {
            "order": [f"o{i}" for i, b in enumerate(BASKETS) for _ in b],
            "sku": [x for b in BASKETS for x in b],
            "qty": [1] * sum(map(len, BASKETS)),
        }
    )
    long.write_parquet(tmp_path / "long.parquet")
    long.write_csv(tmp_path / "long.csv", separator=";")
    return {p.name: p for p in tmp_path.iterdir()}


def test_the_three_formats_agree(files: dict[str, Path]) -> None:
    expected = [set(b) for b in BASKETS]
    assert as_sets(read_baskets(files["b.csv"])) == expected
    assert as_sets(read_baskets(str(files["b.txt"]), format="basket", sep="|")) == expected
    for name in ("long.parquet", "long.csv"):
        m = read_baskets(files[name], format="long", basket_col="order", item_col="sku")
        assert as_sets(m) == expected and m.basket_ids == ("o0", "o1", "o2", "o3")
    fimi = read_baskets(files["b.dat"], format="fimi")
    names = {v: k for k, v in CODES.items()}
    assert [{names[i] for i in s} for s in as_sets(fimi)] == expected


def test_read_baskets_errors_name_the_problem(files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="format must be one of 'basket', 'fimi', 'long'"):
        read_baskets(files["b.csv"], format="xml")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match=r"long.parquet: no column 'item'; columns are order"):
        read_baskets(files["long.parquet"], format="long", basket_col="order")
    with pytest.raises(InputError, match="is not a list of integer item ids"):
        read_baskets(files["b.csv"], format="fimi")
    with pytest.raises(InputError, match="cannot read basket file"):
        read_baskets(tmp_path / "missing.csv")
