"""Locations and secrets: parsing s3:// and postgresql:// locations, masking passwords wherever
they could be shown, and the input/output options that validate them before any data is read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basketlens.cli import app
from basketlens.config import RunConfig
from basketlens.errors import ParameterError
from basketlens.ingest.options import InputOptions
from basketlens.ingest.sources import glob_regex
from basketlens.runfolder.options import OutputOptions
from basketlens.uris import (
    MASK,
    PostgresLocation,
    RedactingFilter,
    S3Location,
    parse_location,
    redact,
    redact_value,
    register_secret,
)

SECRET = "Tr0ub4dor&3-uris"


def test_a_path_stays_a_path() -> None:
    assert parse_location("data/sales.csv") == Path("data/sales.csv")
    assert parse_location("/abs/sales.parquet") == Path("/abs/sales.parquet")


@pytest.mark.parametrize(
    ("url", "bucket", "key", "prefix", "pattern", "listing"),
    [
        ("s3://acme/in/sales.csv.gz", "acme", "in/sales.csv.gz", False, False, "in/sales.csv.gz"),
        ("s3://acme/in/", "acme", "in/", True, False, "in/"),
        ("s3://acme", "acme", "", True, False, ""),
        ("s3://acme/in/2024-*/part-?.parquet", "acme", "in/2024-*/part-?.parquet", False, True,
         "in/2024-"),
    ],
)  # fmt: skip
def test_s3_locations(url, bucket, key, prefix, pattern, listing) -> None:
    loc = parse_location(url)
    assert isinstance(loc, S3Location)
    assert (loc.bucket, loc.key, loc.prefix, loc.pattern, loc.listing_prefix) == (
        bucket, key, prefix, pattern, listing,
    )  # fmt: skip
    assert loc.url == url if key else loc.url == url + "/"


def test_glob_stays_within_a_level_unless_double_star() -> None:
    assert glob_regex("in/*.parquet").fullmatch("in/a.parquet")
    assert not glob_regex("in/*.parquet").fullmatch("in/x/a.parquet")
    assert glob_regex("in/**.parquet").fullmatch("in/x/a.parquet")
    assert glob_regex("in/part-[0-2].pq").fullmatch("in/part-1.pq")
    assert not glob_regex("in/part-[!0-2].pq").fullmatch("in/part-1.pq")
    assert not glob_regex("in/a+b.parquet").fullmatch("in/aab.parquet")  # + is literal


def test_postgres_uri_is_split_between_libpq_and_basketlens() -> None:
    loc = parse_location(f"postgresql://etl:{SECRET}@db:5432/erp?sslmode=require&table=erp.sales")
    assert isinstance(loc, PostgresLocation)
    assert loc.table == "erp.sales" and loc.query is None
    assert loc.conninfo == f"postgresql://etl:{SECRET}@db:5432/erp?sslmode=require"
    assert loc.label == f"postgresql://etl:{MASK}@db:5432/erp?sslmode=require&table=erp.sales"
    assert SECRET not in repr(loc)
    assert loc.select() == "SELECT * FROM erp.sales"


def test_query_in_the_uri_keeps_plus_signs_and_decodes_percent_escapes() -> None:
    loc = parse_location("postgres://h/db?query=SELECT%20a+b%20AS%20c%20FROM%20t")
    assert isinstance(loc, PostgresLocation)
    assert loc.select() == "SELECT a+b AS c FROM t"


def test_a_long_query_is_shortened_in_the_label_only() -> None:
    sql = "SELECT * FROM erp.sales WHERE " + " AND ".join(f"c{i} > {i}" for i in range(20))
    loc = parse_location("postgresql://h/db").with_query(sql)  # type: ignore[union-attr]
    assert loc.select() == sql
    assert loc.label.endswith("...") and len(loc.label) < 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://host/file.csv", "unsupported location scheme 'ftp'"),
        ("postgresql://h/db?table=a&query=SELECT 1", "not both"),
        ("postgresql://h/db?table=sales;DROP TABLE x", "is not a table name"),
        ("postgresql://h/db?table=", "?table= is empty"),
        ("postgresql://h/db?schema=bi", "?schema= is for --to-db"),
        ("s3://A_Bucket!/x", "is not a bucket name"),
    ],
)
def test_malformed_locations_are_refused(text: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message.replace("?", r"\?")):
        parse_location(text)


def test_sink_uri_takes_a_schema_and_refuses_a_table() -> None:
    loc = parse_location("postgresql://h/db?schema=bi", sink=True)
    assert isinstance(loc, PostgresLocation) and loc.schema == "bi"
    with pytest.raises(ParameterError, match="is for a source"):
        parse_location("postgresql://h/db?table=t", sink=True)


def test_redact_masks_uri_passwords_pairs_and_registered_secrets() -> None:
    register_secret("hunter2-registered")
    text = (
        "failed: postgresql://u:pw-in-uri@h/db and s3://bucket/key; password=abc123; "
        "AWS_SECRET_ACCESS_KEY: 'wJalr/XUtnFEMI' and hunter2-registered again"
    )
    out = redact(text)
    for secret in ("pw-in-uri", "abc123", "wJalr/XUtnFEMI", "hunter2-registered"):
        assert secret not in out
    assert "s3://bucket/key" in out and "postgresql://u:***@h/db" in out
    assert redact(out) == out  # idempotent


def test_redact_masks_secret_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "from-the-env-9")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws/secret+key")
    assert redact("x from-the-env-9 y aws/secret+key z") == f"x {MASK} y {MASK} z"


def test_redact_value_walks_nested_records() -> None:
    record = {"inputs": [{"path": "postgres://a:b-secret@h/d?table=t"}], "n": 3, "t": ("x",)}
    assert redact_value(record) == {
        "inputs": [{"path": f"postgres://a:{MASK}@h/d?table=t"}],
        "n": 3,
        "t": ("x",),
    }


def test_logging_filter_masks_messages_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("basketlens.test_uris")
    handler = caplog.handler
    handler.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("reading %s", f"postgresql://u:{SECRET}@h/db?table=t")
    finally:
        handler.removeFilter(handler.filters[-1])
    assert SECRET not in caplog.text and "u:***@h" in caplog.text


def test_input_options_check_locations_before_reading() -> None:
    InputOptions(sales="postgresql://h/db", query="SELECT 1").validate()
    InputOptions(sales="s3://bkt/k.csv", items="postgresql://h/db?table=i").validate()
    with pytest.raises(ParameterError, match="needs a postgresql:// sales source"):
        InputOptions(sales="sales.csv", query="SELECT 1").validate()
    with pytest.raises(ParameterError, match="not both"):
        InputOptions(sales="postgresql://h/db?table=s", query="SELECT 1").validate()
    with pytest.raises(ParameterError, match="name the sales rows"):
        InputOptions(sales="postgresql://h/db").validate()
    with pytest.raises(ParameterError, match=r"customers: .*name the rows"):
        InputOptions(sales="s.csv", customers="postgresql://h/db").validate()


def test_output_options_accept_folders_and_s3_and_databases_for_to_db() -> None:
    OutputOptions(out="s3://bkt/runs/", to_db="postgresql://h/db?schema=bi").validate()
    with pytest.raises(ParameterError, match=r"out must be a local path or an s3:// URL"):
        OutputOptions(out=f"postgresql://u:{SECRET}@h/db").validate()
    with pytest.raises(ParameterError, match="to_db must be a postgresql:// URI") as info:
        OutputOptions(to_db="out/").validate()
    assert SECRET not in str(info.value)


def test_an_invalid_uri_error_never_shows_its_password() -> None:
    with pytest.raises(ParameterError) as info:
        OutputOptions(out=f"ftp://u:{SECRET}@h/x").validate()
    assert SECRET not in str(info.value) and MASK in str(info.value)


def test_run_record_parameters_are_masked() -> None:
    cfg = RunConfig().override(
        input={"sales": f"postgresql://etl:{SECRET}@db/erp?table=s"},
        output={"to_db": f"postgresql://bi:{SECRET}@db/bi?schema=x", "out": "out"},
    )
    text = repr(cfg.as_dict())
    assert SECRET not in text and "etl:***@db" in text and "bi:***@db" in text
    assert cfg.input.sales.startswith("postgresql://etl:Tr0ub4dor")  # the config keeps it


def test_config_expands_environment_references_inside_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BL_DB_PASSWORD", "from-env-1")
    monkeypatch.setenv("BL_BUCKET", "acme-bi")
    path = tmp_path / "nightly.toml"
    path.write_text(
        "[input]\n"
        'sales = "postgresql://etl:${BL_DB_PASSWORD}@db/erp?table=erp.sales"\n'
        'items = "s3://${BL_BUCKET}/items.parquet"\n'
        "[output]\n"
        'out = "s3://${BL_BUCKET}/basketlens/"\n'
        'to_db = "postgresql://bi:${BL_DB_PASSWORD}@db/bi?schema=basketlens"\n',
        encoding="utf-8",
    )
    cfg = RunConfig.from_toml(path)
    assert cfg.input.sales == "postgresql://etl:from-env-1@db/erp?table=erp.sales"
    assert cfg.input.items == "s3://acme-bi/items.parquet"  # a URL is not resolved as a path
    assert cfg.output.out == "s3://acme-bi/basketlens/"
    monkeypatch.delenv("BL_BUCKET")
    with pytest.raises(ParameterError, match="'BL_BUCKET' is not set"):
        RunConfig.from_toml(path)


def test_cli_refuses_query_without_a_database_before_reading(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "absent.csv"), "--query", "SELECT 1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "needs a postgresql:// sales source" in result.output
    assert "Traceback" not in result.output


def test_cli_masks_the_password_of_a_bad_location(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", f"mysql://root:{SECRET}@h/db", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert SECRET not in result.output and "root:***@h" in result.output
