"""s3:// sources against the S3-compatible server that ``.ci/services`` starts (moto with IAM
authentication, never mocked): every format and a prefix or pattern of Parquet parts give the
same ledger as the local files; credentials come from the standard AWS variables or a profile;
errors are one line naming the object."""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import boto3
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import basketlens
from basketlens.cli import app
from basketlens.errors import InputError
from basketlens.ingest import load_ledger
from basketlens.synth import generate_ledger

BUCKET = "bl-sources"


def client():
    return boto3.client("s3")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo ledger as CSV files, plus the sales as csv.gz, jsonl and Parquet (3 parts)."""
    folder = tmp_path_factory.mktemp("demo")
    files = generate_ledger(n_customers=200, seed=2).write(folder)
    sales = pl.read_csv(files["sales"], infer_schema=False)
    with files["sales"].open("rb") as src, gzip.open(folder / "sales.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    sales.write_ndjson(folder / "sales.jsonl")
    sales.write_parquet(folder / "sales.parquet")
    parts = folder / "parts"
    parts.mkdir()
    step = sales.height // 3 + 1
    for n in range(3):
        sales.slice(n * step, step).write_parquet(parts / f"part-{n}.parquet")
    return {**files, "folder": folder}


@pytest.fixture
def uploaded(s3_env, demo: dict[str, Path]) -> str:
    """The demo files in bucket bl-sources (plus a _SUCCESS marker beside the parts)."""
    s3 = client()
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
        folder = demo["folder"]
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                s3.upload_file(str(path), BUCKET, f"demo/{path.relative_to(folder).as_posix()}")
        s3.put_object(Bucket=BUCKET, Key="demo/parts/_SUCCESS", Body=b"")
    return f"s3://{BUCKET}/demo"


def test_demo_run_from_s3_objects_equals_the_run_from_files(
    uploaded: str, demo: dict[str, Path], assert_same_run
) -> None:
    local = basketlens.analyse(demo["sales"], items=demo["items"], customers=demo["customers"])
    remote = basketlens.analyse(
        f"{uploaded}/sales.csv",
        items=f"{uploaded}/items.csv",
        customers=f"{uploaded}/customers.csv",
    )
    assert_same_run(remote, local)
    assert [s["path"] for s in remote.info["inputs"]] == [
        f"{uploaded}/{name}.csv" for name in ("sales", "items", "customers")
    ]
    # the same bytes: the fingerprint of the object is that of the file
    assert [s["fingerprint"] for s in remote.info["inputs"]] == [
        s["fingerprint"] for s in local.info["inputs"]
    ]


@pytest.mark.parametrize(
    "name", ["sales.csv.gz", "sales.jsonl", "sales.parquet", "parts/", "parts/part-*.parquet",
             "parts"],
)  # fmt: skip
def test_every_format_and_a_set_of_parquet_parts_read_as_the_local_file(
    uploaded: str, demo: dict[str, Path], name: str
) -> None:
    local = load_ledger(demo["sales"])
    remote = load_ledger(f"{uploaded}/{name}")
    assert remote.n_lines == local.n_lines
    assert_frame_equal(remote.lines.collect(), local.lines.collect())
    assert remote.sources[0].path in (f"{uploaded}/{name}", f"{uploaded}/{name}/")


def test_credentials_and_endpoint_from_a_profile(
    uploaded: str, s3_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id, secret = s3_server.keys["ro"]
    (tmp_path / "config").write_text(
        f"[profile reporting]\nregion = eu-west-1\nendpoint_url = {s3_server.endpoint}\n",
        encoding="utf-8",
    )
    (tmp_path / "credentials").write_text(
        f"[reporting]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n",
        encoding="utf-8",
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "reporting")
    assert load_ledger(f"{uploaded}/sales.parquet").n_lines > 0


@pytest.fixture
def odd_objects(uploaded: str) -> str:
    """A prefix mixing Parquet and CSV, parts whose columns differ, and a private object."""
    s3 = client()
    s3.put_object(Bucket=BUCKET, Key="mixed/a.parquet", Body=_parquet({"x": [1]}))
    s3.put_object(Bucket=BUCKET, Key="mixed/b.csv", Body=b"x\n1\n")
    s3.put_object(Bucket=BUCKET, Key="drift/a.parquet", Body=_parquet({"x": [1]}))
    s3.put_object(Bucket=BUCKET, Key="drift/b.parquet", Body=_parquet({"x": ["1"]}))
    s3.put_object(Bucket=BUCKET, Key="broken/a.parquet", Body=b"not parquet at all")
    buckets = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if "bl-private" not in buckets:
        s3.create_bucket(Bucket="bl-private")
    s3.upload_file(str(Path(__file__)), "bl-private", "sales.csv")
    return f"s3://{BUCKET}"


def _parquet(data: dict) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(data).write_parquet(buffer)
    return buffer.getvalue()


def _as(monkeypatch: pytest.MonkeyPatch, key_id: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


ERRORS = {
    "missing bucket": ("s3://bl-no-such-bucket/sales.csv", None,
                       "bucket 'bl-no-such-bucket' does not exist"),
    "missing key": ("s3://bl-sources/demo/no-such.csv", None, "no such object"),
    "empty prefix": ("s3://bl-sources/nothing-here/", None, "no objects here"),
    "unmatched pattern": ("s3://bl-sources/demo/*.xlsx", None, "no objects match"),
    "unknown key id": ("s3://bl-sources/demo/sales.csv", ("AKIAUNKNOWN0000000", "x" * 40),
                       "access key id is unknown"),
    "wrong secret": ("s3://bl-sources/demo/sales.csv", ("rw", "wrong-secret-key-0123"),
                     "secret key does not match"),
    "access denied": ("s3://bl-private/sales.csv", "ro", "access denied"),
    "csv in a parquet prefix": ("s3://bl-sources/mixed/", None, "b.csv is not Parquet"),
    "parts with other columns": ("s3://bl-sources/drift/", None, "column 'x' is String there"),
    "not parquet": ("s3://bl-sources/broken/", None, "not a readable Parquet file"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ERRORS))
def test_object_store_errors_are_one_line_naming_the_object(
    case: str, odd_objects: str, s3_server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url, who, expected = ERRORS[case]
    if isinstance(who, str):
        _as(monkeypatch, *s3_server.keys[who])
    elif who is not None:
        key_id, secret = who
        _as(monkeypatch, s3_server.keys[key_id][0] if key_id == "rw" else key_id, secret)
    result = CliRunner().invoke(app, ["run", url, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert expected in errors[0] and "s3://" in errors[0], errors[0]
    assert "Traceback" not in result.output
    for _, secret in s3_server.keys.values():
        assert secret not in result.output


def test_no_credentials_and_an_unreachable_endpoint(
    s3_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(InputError, match="no AWS credentials found"):
        load_ledger(f"s3://{BUCKET}/demo/sales.csv")
    _as(monkeypatch, *s3_env.keys["rw"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing there
    with pytest.raises(InputError, match=r"cannot reach the object store at http://127\.0\.0\.1:9"):
        load_ledger(f"s3://{BUCKET}/demo/sales.csv")


def test_a_bad_value_in_an_object_names_the_object_not_a_local_copy(
    uploaded: str, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "invoice,date,customer,item,quantity,unit_price\nA1,2024-01-02,C1,X,2,1.5\n"
        "A2,not a date,C1,Y,1,2\n",
        encoding="utf-8",
    )
    client().upload_file(str(bad), BUCKET, "bad/bad.csv")
    with pytest.raises(InputError) as info:
        load_ledger(f"s3://{BUCKET}/bad/bad.csv")
    assert f"s3://{BUCKET}/bad/bad.csv" in str(info.value)
    assert "basketlens-sources" not in str(info.value)


def test_online_retail_from_s3_equals_the_local_files(
    s3_env, shared_path, online_retail_run, tmp_path: Path, assert_same_run
) -> None:
    csv_gz = shared_path("online_retail", "online_retail.csv.gz")
    parquet = shared_path("online_retail", "online_retail.parquet")
    s3 = client()
    s3.create_bucket(Bucket="bl-online-retail")
    s3.upload_file(str(csv_gz), "bl-online-retail", "raw/online_retail.csv.gz")
    frame = pl.read_parquet(parquet)
    for n, part in enumerate(frame.iter_slices(200_000)):
        part.write_parquet(tmp_path / "part.parquet")
        s3.upload_file(str(tmp_path / "part.parquet"), "bl-online-retail", f"parts/{n:03d}.parquet")
    remote = basketlens.analyse("s3://bl-online-retail/raw/online_retail.csv.gz")
    assert_same_run(remote, online_retail_run)
    parts = load_ledger("s3://bl-online-retail/parts/")
    whole = load_ledger(parquet)
    assert parts.n_lines == whole.n_lines == 541_909
    assert_frame_equal(parts.lines.collect(), whole.lines.collect())
