"""PostgreSQL sources against the real server that ``.ci/services`` starts (never mocked): the
same tables as from the files the data came from, passwords from the URI, PGPASSWORD or
.pgpass, streaming in batches, and one-line errors that name the source with its password
masked."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import adbc_driver_postgresql.dbapi as adbc_pg
import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import basketlens
from basketlens.cli import app
from basketlens.errors import EmptyInputError, InputError
from basketlens.ingest import load_ledger
from basketlens.ingest.sources import open_source, spool_query
from basketlens.synth import generate_ledger
from basketlens.uris import parse_location

LIMITED_USER, LIMITED_PASSWORD = "bl_noselect", "pw-noselect-41"


def sql(uri: str, *statements: str) -> list[tuple]:
    """Run statements in one transaction; return the rows of the last."""
    with adbc_pg.connect(uri) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
    return rows


def load(uri: str, schema: str, table: str, frame: pl.DataFrame) -> None:
    """Create ``schema.table`` holding ``frame`` (typed as Polars reads it)."""
    with adbc_pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.adbc_ingest(table, frame.to_arrow(), mode="replace", db_schema_name=schema)
        conn.commit()


def password_of(uri: str) -> str:
    return urlsplit(uri).password or ""


def without_password(uri: str) -> str:
    return uri.replace(f":{password_of(uri)}@", "@")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, pg_uri: str) -> dict[str, Path]:
    """The demo ledger as CSV files, and the same rows in tables src.demo_<table>."""
    files = generate_ledger(n_customers=200, seed=1).write(tmp_path_factory.mktemp("demo"))
    for role, path in files.items():
        load(pg_uri, "src", f"demo_{role}", pl.read_csv(path, infer_schema_length=None))
    return files


def tables(uri: str) -> dict[str, str]:
    return {role: f"{uri}?table=src.demo_{role}" for role in ("sales", "items", "customers")}


def test_demo_run_from_postgres_tables_equals_the_run_from_files(
    demo: dict[str, Path], pg_uri: str, assert_same_run
) -> None:
    local = basketlens.analyse(demo["sales"], items=demo["items"], customers=demo["customers"])
    db = tables(pg_uri)
    remote = basketlens.analyse(db["sales"], items=db["items"], customers=db["customers"])
    assert_same_run(remote, local)
    assert remote.cleaning["rows_in"][0] == local.cleaning["rows_in"][0] > 0
    inputs = remote.info["inputs"]
    assert [s["format"] for s in inputs] == ["postgresql"] * 3
    assert all(s["fingerprint"].startswith("sha256:") for s in inputs)
    assert password_of(pg_uri) not in repr(remote.info)


def test_fingerprint_is_stable_for_the_same_rows(demo: dict[str, Path], pg_uri: str) -> None:
    first = open_source(tables(pg_uri)["items"], role="items")
    again = open_source(tables(pg_uri)["items"], role="items")
    assert first.scan.fingerprint == again.scan.fingerprint
    assert first.rows == again.rows == 286 and first.format == "postgresql"


def test_query_flag_reads_the_rows_the_query_returns(
    demo: dict[str, Path], pg_uri: str, tmp_path: Path
) -> None:
    where = 'WHERE "Date_CD" < 20250401'
    (expected,) = sql(pg_uri, f"SELECT count(*) FROM src.demo_sales {where}")[0]
    query = f"SELECT * FROM src.demo_sales {where}"
    result = CliRunner().invoke(
        app,
        ["run", pg_uri, "--query", query, "--items", tables(pg_uri)["items"],
         "--out", str(tmp_path / "out"), "--no-report", "--k", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    account = pl.read_parquet(tmp_path / "out" / "cleaning.parquet")
    assert account["rows_in"][0] == expected
    in_uri = load_ledger(f"{pg_uri}?query={query.replace(' ', '%20')}")
    assert in_uri.n_lines == expected


def test_password_from_pgpassword_or_pgpass(
    demo: dict[str, Path], pg_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = without_password(pg_uri) + "?table=src.demo_items"
    parts = urlsplit(pg_uri)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "empty.pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    with pytest.raises(InputError, match=r"authentication failed|no password"):
        open_source(bare, role="items")
    monkeypatch.setenv("PGPASSWORD", password_of(pg_uri))
    assert open_source(bare, role="items").rows == 286
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(
        f"{parts.hostname}:{parts.port}:*:{parts.username}:{password_of(pg_uri)}\n",
        encoding="utf-8",
    )
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert open_source(bare, role="items").rows == 286


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def limited_user(pg_uri: str, demo: dict[str, Path]) -> str:
    """A login role that may connect but not read schema src."""
    sql(
        pg_uri,
        f"DROP ROLE IF EXISTS {LIMITED_USER}",
        f"CREATE ROLE {LIMITED_USER} LOGIN PASSWORD '{LIMITED_PASSWORD}'",
    )
    parts = urlsplit(pg_uri)
    return (
        f"postgresql://{LIMITED_USER}:{LIMITED_PASSWORD}@{parts.hostname}:{parts.port}{parts.path}"
    )


ERRORS = {
    "unreachable host": (
        lambda u, lim: f"postgresql://u:pw-x1@127.0.0.1:{_closed_port()}/db?table=s",
        "cannot reach the database server",
    ),
    "bad password": (
        lambda u, lim: u.replace(password_of(u), "wrong-pw-7") + "?table=src.demo_sales",
        "authentication failed",
    ),
    "missing database": (
        lambda u, lim: u.rsplit("/", 1)[0] + "/no_such_db?table=s",
        'database "no_such_db" does not exist',
    ),
    "missing table": (
        lambda u, lim: u + "?table=src.no_such_table",
        'relation "src.no_such_table" does not exist',
    ),
    "missing column": (
        lambda u, lim: u + "?query=SELECT%20no_such_column%20FROM%20src.demo_sales",
        'column "no_such_column" does not exist',
    ),
    "permission denied": (
        lambda u, lim: lim + "?table=src.demo_sales",
        "permission denied for schema src",
    ),
    "no rows": (
        lambda u, lim: u + "?query=SELECT%20*%20FROM%20src.demo_sales%20WHERE%20false",
        "returned no rows",
    ),
    "duplicate column names": (
        lambda u, lim: u + "?query=SELECT%201%20AS%20a,%202%20AS%20a",
        "two columns named 'a'",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_source_errors_are_one_line_naming_the_source(
    case: str, pg_uri: str, limited_user: str, tmp_path: Path
) -> None:
    make, expected = ERRORS[case]
    source = make(pg_uri, limited_user)
    result = CliRunner().invoke(app, ["run", source, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert expected in errors[0], errors[0]
    label = parse_location(source).label  # type: ignore[union-attr]
    assert label.split("?")[0] in errors[0]
    assert "Traceback" not in result.output
    for secret in {password_of(source), password_of(pg_uri), "wrong-pw-7", LIMITED_PASSWORD}:
        assert secret not in result.output


def test_a_mapped_column_missing_from_the_table_names_the_source(
    demo: dict[str, Path], pg_uri: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["run", tables(pg_uri)["sales"], "--map", "invoice=NoSuchColumn",
         "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "NoSuchColumn" in result.output and "?table=src.demo_sales" in result.output
    assert password_of(pg_uri) not in result.output


def test_an_empty_table_is_an_empty_input(pg_uri: str) -> None:
    sql(pg_uri, "CREATE SCHEMA IF NOT EXISTS src", "DROP TABLE IF EXISTS src.empty",
        "CREATE TABLE src.empty (invoice text, item text)")  # fmt: skip
    with pytest.raises(EmptyInputError, match="returned no rows"):
        load_ledger(f"{pg_uri}?table=src.empty")


# ------------------------------------------------------------------ Online Retail, typed table
@pytest.fixture(scope="module")
def online_retail_db(pg_uri: str, shared_path) -> str:
    """Online Retail in a typed table as an ERP would hold it: integer ids, numeric prices."""
    frame = pl.read_parquet(shared_path("online_retail", "online_retail.parquet"))
    load(pg_uri, "src", "or_stage", frame)
    sql(
        pg_uri,
        "DROP TABLE IF EXISTS src.online_retail",
        'CREATE TABLE src.online_retail ("InvoiceNo" text, "StockCode" text, '
        '"Description" text, "Quantity" integer, "InvoiceDate" timestamp, "UnitPrice" numeric, '
        '"CustomerID" integer, "Country" text)',
        'INSERT INTO src.online_retail SELECT "InvoiceNo", "StockCode", "Description", '
        '"Quantity", "InvoiceDate", "UnitPrice"::numeric, "CustomerID"::integer, "Country" '
        "FROM src.or_stage",
        "DROP TABLE src.or_stage",
    )
    return f"{pg_uri}?table=src.online_retail"


def test_online_retail_from_a_typed_table_equals_the_csv(
    online_retail_db: str, online_retail_run, assert_same_run
) -> None:
    remote = basketlens.analyse(online_retail_db)
    assert_same_run(remote, online_retail_run)
    assert remote.info["rows"]["lines_read"] == 541_909
    assert remote.info["layout"] == "online_retail"


def test_a_large_table_streams_in_batches(online_retail_db: str, tmp_path: Path) -> None:
    loc = parse_location(online_retail_db)
    rows, received = spool_query(loc, tmp_path / "spool.parquet")  # type: ignore[arg-type]
    meta = pq.ParquetFile(tmp_path / "spool.parquet").metadata
    assert rows == meta.num_rows == 541_909
    # one row group per Arrow batch received: the table never sat in memory whole
    assert meta.num_row_groups >= 2
    largest = max(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
    assert largest < rows
    assert received > 0
    assert re.fullmatch(r"\d+", str(received))
