"""S3-compatible object stores (AWS S3, MinIO, Ceph, moto, …) through boto3.

Credentials, region and endpoint come from the standard AWS configuration, resolved by boto3
exactly as the AWS CLI does: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/
``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and ``~/.aws/config``/``credentials`` (SSO, assumed
roles, instance roles), ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_S3``, or ``endpoint_url``
in the profile) for a store other than AWS, and ``AWS_REGION``/``AWS_DEFAULT_REGION``.

Every call goes through :func:`translate`, which turns boto3's errors into one line naming the
``s3://`` URL and what to check.

Example:
    >>> from basketlens.uris import parse_location
    >>> loc = parse_location("s3://acme/ledger/sales.csv.gz")
    >>> download(loc, Path("/tmp/sales.csv.gz"))         # doctest: +SKIP
    7618450
"""

from __future__ import annotations

import logging
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from basketlens.errors import BasketlensError, InputError, MissingExtraError
from basketlens.uris import S3Location, redact

try:  # the [s3] extra
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.exceptions import (
        ConnectionError as UnreachableError,
    )
except ImportError:  # pragma: no cover - exercised only without the extra
    boto3 = None  # type: ignore[assignment]

    class _Absent(Exception):
        """Stands for boto3's exception types when boto3 is not installed (never raised)."""

    BotoCoreError = ClientError = UnreachableError = _Absent  # type: ignore[misc,assignment]
    NoCredentialsError = PartialCredentialsError = _Absent  # type: ignore[misc,assignment]

log = logging.getLogger(__name__)

EXTRA = "s3"
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120
#: Content types of the files a run folder holds (others are guessed from the extension).
CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
}
_NOT_FOUND = ("NoSuchKey", "404", "NotFound")
_DENIED = ("AccessDenied", "403", "AllAccessDisabled", "Forbidden")
_WHY = {
    "InvalidAccessKeyId": "the access key id is unknown to the object store; check "
    "AWS_ACCESS_KEY_ID or the profile (AWS_PROFILE)",
    "SignatureDoesNotMatch": "the secret key does not match the access key id; check "
    "AWS_SECRET_ACCESS_KEY or the profile",
    "InvalidToken": "the session token is not valid; refresh AWS_SESSION_TOKEN",
    "ExpiredToken": "the session token has expired; refresh the credentials",
    "PermanentRedirect": "the bucket is in another region; set AWS_REGION",
    "AuthorizationHeaderMalformed": "the bucket is in another region; set AWS_REGION",
    "InvalidBucketName": "not a valid bucket name",
}


def require() -> None:
    """Raise :class:`MissingExtraError` when boto3 is not installed."""
    if boto3 is None:
        raise MissingExtraError(f"s3:// locations need boto3: pip install 'basketlens[{EXTRA}]'")


def client() -> Any:
    """An S3 client configured from the standard AWS environment and files."""
    require()
    session = boto3.Session()
    region = session.region_name or os.environ.get("AWS_REGION") or None
    config = Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S)
    return session.client("s3", region_name=region, config=config)


def endpoint_of(s3: Any) -> str:
    """The endpoint a client talks to (for messages)."""
    return str(getattr(s3.meta, "endpoint_url", "") or "the default AWS endpoint")


def explain(exc: BaseException, loc: S3Location, *, endpoint: str = "") -> str:
    """One line for a boto3 error: the URL, what went wrong and what to check.

    Example:
        >>> explain(KeyError("x"), S3Location("acme", "in/sales.csv"))
        "s3://acme/in/sales.csv: KeyError: 'x'"
    """
    why: str
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or code
        if code == "NoSuchBucket":
            why = f"bucket {loc.bucket!r} does not exist at {endpoint or 'the endpoint'}"
        elif code in _NOT_FOUND:
            why = "no such object (check the key; a prefix must end with '/')"
        elif code in _DENIED:
            why = (
                "access denied; check the permissions of the credentials in use "
                "(AWS_PROFILE or AWS_ACCESS_KEY_ID) on this bucket and key"
            )
        elif code in _WHY:
            why = _WHY[code]
        else:
            why = f"{code}: {message}"
    elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
        why = (
            "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
            "AWS_PROFILE (see docs/sources.md)"
        )
    elif isinstance(exc, UnreachableError):
        why = f"cannot reach the object store at {endpoint}: {exc}; check AWS_ENDPOINT_URL"
    elif isinstance(exc, BotoCoreError):
        why = str(exc)
    else:
        why = f"{type(exc).__name__}: {exc}"
    return redact(f"{loc.url}: {why}")


@contextmanager
def translate(
    loc: S3Location, s3: Any, *, error: type[BasketlensError] = InputError
) -> Iterator[None]:
    """Turn boto3 errors inside the block into ``error`` with :func:`explain`'s line."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise error(explain(exc, loc, endpoint=endpoint_of(s3))) from None


def size_of(s3: Any, loc: S3Location) -> int | None:
    """The size of the object at ``loc``, or None when there is no such object.

    Reads its first byte rather than its head: a HEAD error has no body, so it could not tell
    a wrong secret key from a missing permission.
    """
    try:
        response = s3.get_object(Bucket=loc.bucket, Key=loc.key, Range="bytes=0-0")
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code"))
        if code in _NOT_FOUND:
            return None
        if code == "InvalidRange":  # an empty object
            return 0
        raise
    response["Body"].close()
    total = str(response.get("ContentRange", "")).rpartition("/")[2]
    return int(total) if total.isdigit() else int(response["ContentLength"])


def list_objects(s3: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """``(key, size)`` of every object whose key starts with ``prefix``, in key order."""
    found: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(o["Key"], int(o["Size"])) for o in page.get("Contents", ())]
    return sorted(found)


def download(s3: Any, loc: S3Location, dest: Path) -> int:
    """Copy the object at ``loc`` to the local file ``dest`` (multipart, streamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    s3.download_file(loc.bucket, loc.key, str(dest))
    size = dest.stat().st_size
    log.debug("downloaded %s (%d bytes) to %s", loc.url, size, dest)
    return size


def content_type(path: Path) -> str:
    """The Content-Type stored with an uploaded file."""
    suffix = path.suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "binary/octet-stream"


def upload(s3: Any, path: Path, loc: S3Location) -> None:
    """Copy the local file ``path`` to ``loc`` (multipart for large files)."""
    s3.upload_file(str(path), loc.bucket, loc.key, ExtraArgs={"ContentType": content_type(path)})


def put_bytes(s3: Any, data: bytes, loc: S3Location, *, kind: str) -> None:
    """Write ``data`` as one object (a single PUT: readers see all of it or none)."""
    s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, ContentType=kind)


def get_bytes(s3: Any, loc: S3Location) -> bytes:
    """The content of a small object."""
    return s3.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()


def delete(s3: Any, bucket: str, keys: list[str]) -> None:
    """Delete ``keys`` (in batches of 1000, the API's limit)."""
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk]})
