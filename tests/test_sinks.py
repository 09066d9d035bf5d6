"""Sinks against the real servers of ``.ci/services``: ``--out s3://`` publishes a run only when
it is complete, ``--to-db`` leaves a star schema whose keys join and keeps the previous run
whole when a run fails midway, permissions are checked before the work, and no password
reaches any output, log line or table."""

from __future__ import annotations

import io
import json
import secrets
import threading
import time
import zipfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import adbc_driver_postgresql.dbapi as adbc_pg
import boto3
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import basketlens
from basketlens.cli import app
from basketlens.errors import SinkError
from basketlens.runfolder.analysis import Analysis
from basketlens.sinks.database import STAR, write_star
from basketlens.synth import generate_ledger
from basketlens.uris import parse_location

OUT_BUCKET = "bl-out"


def sql(uri: str, *statements: str) -> list[tuple]:
    with adbc_pg.connect(uri) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
    return rows


def read_table(uri: str, query: str) -> pl.DataFrame:
    with adbc_pg.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(query)
        return pl.from_arrow(cur.fetch_arrow_table())  # type: ignore[return-value]


def password_of(uri: str) -> str:
    return urlsplit(uri).password or ""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_ledger(n_customers=150, seed=4).write(tmp_path_factory.mktemp("demo"))


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["-v", "run", *args])
    assert result.exit_code == 0, result.output
    return result.output


def fail(*args: str) -> str:
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def inputs(demo: dict[str, Path]) -> list[str]:
    return [
        str(demo["sales"]),
        "--items",
        str(demo["items"]),
        "--customers",
        str(demo["customers"]),
    ]


# ------------------------------------------------------------------------------ --out s3://
@pytest.fixture
def out_bucket(s3_env) -> str:
    s3 = boto3.client("s3")
    if OUT_BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=OUT_BUCKET)
    return OUT_BUCKET


@pytest.fixture
def prefix() -> str:
    """A prefix of its own for each test (the server outlives a test session)."""
    return f"t-{secrets.token_hex(4)}/"


def fresh(uri: str, *schemas: str) -> None:
    """Drop schemas an earlier session left (the server outlives a test session)."""
    sql(uri, *(f"DROP SCHEMA IF EXISTS {s} CASCADE" for s in schemas))


def keys(prefix: str) -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2")
    return sorted(o["Key"] for p in pages.paginate(Bucket=OUT_BUCKET, Prefix=prefix)
                  for o in p.get("Contents", ()))  # fmt: skip


def pointer(prefix: str) -> dict:
    body = boto3.client("s3").get_object(Bucket=OUT_BUCKET, Key=f"{prefix}latest.json")["Body"]
    return json.loads(body.read())


def test_out_s3_publishes_the_whole_run_folder_then_the_pointer(
    out_bucket: str, prefix: str, demo: dict[str, Path], tmp_path: Path, assert_same_run
) -> None:
    output = run(*inputs(demo), "--out", f"s3://{out_bucket}/{prefix}", "--k", "3", "--no-charts")
    latest = pointer(prefix)
    assert latest["path"] == f"{prefix}runs/{latest['run_id']}/"
    assert f"Published to s3://{out_bucket}/{prefix}runs/{latest['run_id']}/" in output
    stored = [k.removeprefix(latest["path"]) for k in keys(latest["path"])]
    assert stored == sorted(latest["files"])
    for name in ("run.json", "rules.parquet", "report.html", "insights.xlsx",
                 "bi/fact_rules.parquet", "model/model.json"):  # fmt: skip
        assert name in stored, name
    # the reader's contract, as basketlens.load_run follows it: the same run as a local one
    run(*inputs(demo), "--out", str(tmp_path / "local"), "--k", "3", "--no-report")
    assert_same_run(basketlens.load_run(f"s3://{out_bucket}/{prefix}"),
                    basketlens.load_run(tmp_path / "local"))  # fmt: skip


def test_a_new_run_moves_the_pointer_and_leaves_the_old_run_whole(
    out_bucket: str, prefix: str, demo: dict[str, Path]
) -> None:
    run(*inputs(demo), "--out", f"s3://{out_bucket}/{prefix}", "--k", "2", "--no-report")
    first = pointer(prefix)
    before = keys(first["path"])
    run(*inputs(demo), "--out", f"s3://{out_bucket}/{prefix}", "--k", "3", "--no-report")
    latest = pointer(prefix)
    assert latest["run_id"] != first["run_id"]
    assert keys(first["path"]) == before
    assert basketlens.load_run(f"s3://{out_bucket}/{prefix}").segments.height == 3


def test_a_publish_that_fails_at_its_end_leaves_the_previous_run_visible(
    out_bucket: str,
    prefix: str,
    demo: dict[str, Path],
    s3_server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run(*inputs(demo), "--out", f"s3://{out_bucket}/{prefix}", "--no-report", "--k", "2")
    before, runs_before = pointer(prefix), keys(f"{prefix}runs/")
    key_id, secret = s3_server.keys["nopointer"]  # may write anything but latest.json
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    output = fail(*inputs(demo), "--out", f"s3://{out_bucket}/{prefix}", "--no-report")
    assert "latest.json: access denied" in output
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.keys["rw"][0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.keys["rw"][1])
    assert pointer(prefix) == before
    assert keys(f"{prefix}runs/") == runs_before  # the partial upload was removed


def test_an_unwritable_out_is_refused_before_the_work(
    out_bucket: str, demo: dict[str, Path], s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.keys["ro"][0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.keys["ro"][1])
    output = fail(*inputs(demo), "--out", f"s3://{out_bucket}/readonly/")
    assert "access denied" in output and "ingest" not in output
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.keys["rw"][0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.keys["rw"][1])
    output = fail(*inputs(demo), "--out", "s3://bl-no-such-out-bucket/x/")
    assert "bucket 'bl-no-such-out-bucket' does not exist" in output


# ------------------------------------------------------------------------------ --to-db
FOREIGN_KEYS = {(t.name, column, target) for t in STAR for column, target in t.references}


def constraints(uri: str, schema: str) -> tuple[dict[str, str], set[tuple[str, str, str]]]:
    rows = sql(
        uri,
        "SELECT c.conrelid::regclass::text, c.contype::text, pg_get_constraintdef(c.oid) "
        f"FROM pg_constraint c WHERE c.connamespace = '{schema}'::regnamespace",
    )
    primary = {t.split(".")[-1]: d for t, kind, d in rows if kind == "p"}
    foreign = set()
    for table, kind, definition in rows:
        if kind == "f":  # FOREIGN KEY (col) REFERENCES schema.table(key)
            column = definition.split("(")[1].split(")")[0]
            target = definition.split("REFERENCES ")[1].split("(")[0].split(".")[-1]
            foreign.add((table.split(".")[-1], column, target))
    return primary, foreign


def test_to_db_writes_a_star_schema_with_keys_that_join(
    pg_uri: str, demo: dict[str, Path], tmp_path: Path
) -> None:
    fresh(pg_uri, "bi_star")
    out = tmp_path / "out"
    output = run(*inputs(demo), "--out", str(out), "--to-db", f"{pg_uri}?schema=bi_star",
                 "--no-html", "--no-excel", "--no-charts")  # fmt: skip
    assert "Published to postgresql://" in output
    primary, foreign = constraints(pg_uri, "bi_star")
    assert set(primary) == {t.name for t in STAR} | {"runs"}
    assert primary["fact_opportunities"] == "PRIMARY KEY (customer_id, item_id)"
    assert foreign == FOREIGN_KEYS
    # every fact row finds its dimensions (the keys are enforced; the join proves they match)
    (joined, total) = sql(
        pg_uri,
        "SELECT count(*) FILTER (WHERE r.rule_id IS NOT NULL AND c.customer_id IS NOT NULL "
        "AND i.item_id IS NOT NULL AND s.segment_key IS NOT NULL), count(*) "
        "FROM bi_star.fact_opportunities o "
        "LEFT JOIN bi_star.fact_rules r USING (rule_id) "
        "LEFT JOIN bi_star.dim_customer c USING (customer_id) "
        "LEFT JOIN bi_star.dim_item i ON i.item_id = o.item_id "
        "LEFT JOIN bi_star.dim_segment s ON s.segment_key = o.segment_key",
    )[0]
    assert joined == total > 0
    # the same rows as the bi/ folder of the same run: reshaped once, not recomputed
    for table in STAR:
        local = pl.read_parquet(out / "bi" / f"{table.name}.parquet")
        remote = read_table(pg_uri, f"SELECT * FROM bi_star.{table.name}")
        assert remote.columns == local.columns, table.name
        order = list(table.key)
        assert_frame_equal(remote.sort(order), local.sort(order), check_dtypes=False)
    info = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (run_id, current, lines) = sql(
        pg_uri, "SELECT run_id, is_current, lines_read FROM bi_star.runs"
    )[0]
    assert (run_id, current, lines) == (info["run_id"], True, info["rows"]["lines_read"])


def test_to_db_replaces_the_previous_run_and_keeps_the_run_history(
    pg_uri: str, demo: dict[str, Path], tmp_path: Path
) -> None:
    fresh(pg_uri, "bi_history")
    target = f"{pg_uri}?schema=bi_history"
    run(*inputs(demo), "--out", str(tmp_path / "a"), "--to-db", target, "--k", "2", "--no-report")
    run(*inputs(demo), "--out", str(tmp_path / "b"), "--to-db", target, "--k", "4", "--no-report",
        "--no-rules")  # fmt: skip
    assert sql(pg_uri, "SELECT count(*) FROM bi_history.dim_segment")[0][0] == 4 + 1
    tables = {r[0] for r in sql(pg_uri, "SELECT tablename FROM pg_tables WHERE schemaname = "
                                        "'bi_history'")}  # fmt: skip
    assert "fact_rules" not in tables  # no stale facts of the previous run
    history = sql(pg_uri, "SELECT segments, is_current FROM bi_history.runs ORDER BY created_at, "
                          "written_at")  # fmt: skip
    assert history == [(2, False), (4, True)]


def test_a_reader_with_default_privileges_reads_every_new_run(
    pg_uri: str, demo: dict[str, Path], tmp_path: Path
) -> None:
    """The grants docs/bi.md gives a Power BI account survive the tables' replacement."""
    fresh(pg_uri, "bi_read")
    target = f"{pg_uri}?schema=bi_read"
    run(*inputs(demo), "--out", str(tmp_path / "a"), "--to-db", target, "--no-report")
    owner = urlsplit(pg_uri).username
    sql(
        pg_uri,
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'bl_powerbi') THEN "
        "DROP OWNED BY bl_powerbi; DROP ROLE bl_powerbi; END IF; END $$",
        "CREATE ROLE bl_powerbi LOGIN PASSWORD 'pw-powerbi-63'",
        "GRANT USAGE ON SCHEMA bi_read TO bl_powerbi",
        "GRANT SELECT ON ALL TABLES IN SCHEMA bi_read TO bl_powerbi",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA bi_read "
        "GRANT SELECT ON TABLES TO bl_powerbi",
    )
    run(*inputs(demo), "--out", str(tmp_path / "b"), "--to-db", target, "--no-report")
    parts = urlsplit(pg_uri)
    reader = f"postgresql://bl_powerbi:pw-powerbi-63@{parts.hostname}:{parts.port}{parts.path}"
    (rules, current) = sql(
        reader,
        "SELECT (SELECT count(*) FROM bi_read.fact_rules r JOIN bi_read.dim_segment s "
        "USING (segment_key)), (SELECT count(*) FROM bi_read.runs WHERE is_current)",
    )[0]
    assert rules > 0 and current == 1


def test_a_view_of_your_own_on_the_star_tables_stops_the_run_and_changes_nothing(
    pg_uri: str, demo: dict[str, Path], tmp_path: Path
) -> None:
    fresh(pg_uri, "bi_view")
    target = f"{pg_uri}?schema=bi_view"
    run(*inputs(demo), "--out", str(tmp_path / "a"), "--to-db", target, "--no-report")
    sql(pg_uri, "CREATE VIEW bi_view.top_rules AS SELECT * FROM bi_view.fact_rules")
    before = snapshot(pg_uri, "bi_view")
    output = fail(*inputs(demo), "--out", str(tmp_path / "b"), "--to-db", target, "--no-report")
    assert "depend on the star tables" in output and "top_rules" in output
    assert_same_snapshot(snapshot(pg_uri, "bi_view"), before)


def snapshot(uri: str, schema: str) -> dict[str, pl.DataFrame]:
    names = [t.name for t in STAR if sql(uri, f"SELECT to_regclass('{schema}.{t.name}')")[0][0]]
    return {name: read_table(uri, f"SELECT * FROM {schema}.{name}") for name in [*names, "runs"]}


def assert_same_snapshot(got: dict[str, pl.DataFrame], expected: dict[str, pl.DataFrame]) -> None:
    assert list(got) == list(expected)
    for name in expected:
        assert_frame_equal(got[name], expected[name])


@pytest.fixture(scope="module")
def analysis(demo: dict[str, Path]) -> Analysis:
    return basketlens.analyse(demo["sales"], items=demo["items"], customers=demo["customers"])


def test_a_run_that_breaks_a_key_midway_leaves_the_previous_run_whole(
    pg_uri: str, analysis: Analysis
) -> None:
    fresh(pg_uri, "bi_broken")
    loc = parse_location(f"{pg_uri}?schema=bi_broken", sink=True)
    write_star(analysis, loc, run_id="good-run")  # type: ignore[arg-type]
    before = snapshot(pg_uri, "bi_broken")
    ghost = analysis.recommendations.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("ghost-customer"))
        .otherwise(pl.col("customer_id")).alias("customer_id")
    )  # fmt: skip
    with pytest.raises(SinkError, match="fact_recommendations_customer_id_fkey"):
        write_star(replace(analysis, recommendations=ghost), loc, run_id="bad-run")  # type: ignore[arg-type]
    assert_same_snapshot(snapshot(pg_uri, "bi_broken"), before)


def test_a_connection_lost_midway_leaves_the_previous_run_whole(
    pg_uri: str, analysis: Analysis
) -> None:
    """The writer has dropped and rebuilt every star table when it waits for a lock on
    ``runs``; its session is then terminated, as a crash or a network cut would end it."""
    fresh(pg_uri, "bi_midway")
    base = f"{pg_uri}?schema=bi_midway"
    write_star(analysis, parse_location(base, sink=True), run_id="first")  # type: ignore[arg-type]
    before = snapshot(pg_uri, "bi_midway")
    writer = parse_location(f"{pg_uri}?application_name=bl-midway&schema=bi_midway", sink=True)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_star(analysis, writer, run_id="second")  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    with adbc_pg.connect(pg_uri) as holder, holder.cursor() as cur:
        cur.execute("LOCK TABLE bi_midway.runs IN ACCESS EXCLUSIVE MODE")
        thread = threading.Thread(target=write)
        thread.start()
        deadline = time.monotonic() + 60
        while True:
            waiting = sql(
                pg_uri,
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'bl-midway' "
                "AND wait_event_type = 'Lock'",
            )
            if waiting or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert waiting, "the writer never reached the runs table"
        created = sql(
            pg_uri,
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE a.application_name = 'bl-midway' AND l.mode = 'AccessExclusiveLock' "
            "AND l.granted AND l.relation IS NOT NULL",
        )[0][0]
        assert created >= len(before) - 1  # it holds the old and the new star tables
        sql(pg_uri, f"SELECT pg_terminate_backend({waiting[0][0]})")
        thread.join(60)
        holder.rollback()
    assert len(errors) == 1 and isinstance(errors[0], SinkError), errors
    assert "terminat" in str(errors[0])
    assert_same_snapshot(snapshot(pg_uri, "bi_midway"), before)


LIMITED, LIMITED_PASSWORD = "bl_bi_writer", "pw-bi-writer-52"


@pytest.fixture(scope="module")
def limited_writer(pg_uri: str) -> str:
    """A role that may use schema bi_locked but not create in it, nor create schemas."""
    parts = urlsplit(pg_uri)
    sql(
        pg_uri,
        "DROP SCHEMA IF EXISTS bi_locked CASCADE",
        f"DROP ROLE IF EXISTS {LIMITED}",
        f"CREATE ROLE {LIMITED} LOGIN PASSWORD '{LIMITED_PASSWORD}'",
        "CREATE SCHEMA bi_locked",
        f"GRANT USAGE ON SCHEMA bi_locked TO {LIMITED}",
    )
    return f"postgresql://{LIMITED}:{LIMITED_PASSWORD}@{parts.hostname}:{parts.port}{parts.path}"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [("bi_locked", "may not create tables in schema 'bi_locked'"),
     ("bi_new", "may not create schema 'bi_new'")],
)  # fmt: skip
def test_permission_denied_on_the_schema_is_refused_before_the_work(
    limited_writer: str, demo: dict[str, Path], tmp_path: Path, schema: str, expected: str
) -> None:
    output = fail(*inputs(demo), "--out", str(tmp_path / "o"),
                  "--to-db", f"{limited_writer}?schema={schema}")  # fmt: skip
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "permission denied" in errors[0] and expected in errors[0]
    assert "ingest" not in output and LIMITED_PASSWORD not in output
    assert not (tmp_path / "o" / "run.json").exists()


def test_an_unreachable_database_is_refused_before_the_work(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    output = fail(*inputs(demo), "--out", str(tmp_path / "o"),
                  "--to-db", "postgresql://bi:pw-unreach-3@127.0.0.1:9/bi?schema=x")  # fmt: skip
    assert "cannot reach the database server" in output and "pw-unreach-3" not in output


# ------------------------------------------------------------------------------ secrets
def _texts(name: str, data: bytes) -> list[str]:
    """What a file shows a reader: text, every member of an xlsx, every value of a Parquet."""
    if name.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return [book.read(n).decode("utf-8", "replace") for n in book.namelist()]
    if name.endswith(".parquet"):
        frame = pl.read_parquet(io.BytesIO(data))
        return [data.decode("latin-1"), json.dumps(frame.to_dicts(), default=str)]
    return [data.decode("utf-8", "replace")]


def test_no_password_or_secret_key_in_any_output(
    pg_uri: str, s3_env, out_bucket: str, prefix: str, demo: dict[str, Path], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A scheduled job: sources in PostgreSQL, the run to S3 and the star tables to a schema,
    named in a TOML file whose secrets come from the environment."""
    for role, path in demo.items():
        frame = pl.read_csv(path, infer_schema_length=None)
        with adbc_pg.connect(pg_uri) as conn, conn.cursor() as cur:
            cur.execute("CREATE SCHEMA IF NOT EXISTS erp")
            cur.adbc_ingest(role, frame.to_arrow(), mode="replace", db_schema_name="erp")
            conn.commit()
    fresh(pg_uri, "bi_nightly")
    password = password_of(pg_uri)
    monkeypatch.setenv("BL_DB_PASSWORD", password)
    template = pg_uri.replace(password, "${BL_DB_PASSWORD}")
    config = tmp_path / "nightly.toml"
    config.write_text(
        "[input]\n"
        f'sales = "{template}?table=erp.sales"\n'
        f'items = "{template}?table=erp.items"\n'
        f'customers = "{template}?table=erp.customers"\n'
        "[segment]\nk = 3\n[report]\ncharts = false\n"
        "[output]\n"
        f'out = "s3://{out_bucket}/{prefix}"\n'
        f'to_db = "{template}?schema=bi_nightly"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["-vv", "run", "--config", str(config)])
    assert result.exit_code == 0, result.output
    secrets = [password, s3_env.keys["rw"][1]]
    assert all(secret not in result.output for secret in secrets)
    s3 = boto3.client("s3")
    files = keys(prefix)
    assert any(k.endswith("report.html") for k in files) and any(k.endswith(".xlsx") for k in files)
    for key in files:
        data = s3.get_object(Bucket=out_bucket, Key=key)["Body"].read()
        for text in _texts(key, data):
            assert all(secret not in text for secret in secrets), key
    stored = read_table(pg_uri, "SELECT runs::text AS row FROM bi_nightly.runs")
    assert all(password not in row for row in stored["row"])
    assert "***@" in stored["row"][0]
    comments = sql(pg_uri, "SELECT obj_description(c.oid) FROM pg_class c WHERE "
                           "c.relnamespace = 'bi_nightly'::regnamespace")  # fmt: skip
    assert all(password not in str(c) for c in comments)
