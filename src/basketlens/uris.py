"""Where data lives — a local path, an ``s3://`` object URL or a ``postgresql://`` database URI —
and how such a location is shown: always with its secrets masked.

:func:`parse_location` turns the text of ``SALES``/``--items``/``--customers``/``--out``/
``--to-db`` into a typed location; :func:`redact` masks passwords and secret keys in any text
(a URI, a log line, an error message from a driver) before it is shown or stored. Passwords
met in a URI, and the secret environment variables (``PGPASSWORD``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``), are masked wherever they appear.

Standard library only: the command line validates locations without loading Polars.

Example:
    >>> loc = parse_location("postgresql://etl:s3cret@db:5432/erp?table=erp.sales")
    >>> loc.label, loc.table
    ('postgresql://etl:***@db:5432/erp?table=erp.sales', 'erp.sales')
    >>> redact("connect failed for postgresql://etl:s3cret@db/erp (password s3cret)")
    'connect failed for postgresql://etl:***@db/erp (password ***)'
    >>> parse_location("s3://acme/ledger/2024/*.parquet").pattern
    True
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from basketlens._params import Text
from basketlens.errors import ParameterError

__all__ = [
    "MASK",
    "LocationText",
    "PostgresLocation",
    "RedactingFilter",
    "S3Location",
    "is_remote",
    "parse_location",
    "redact",
    "redact_value",
    "register_secret",
]

MASK = "***"
#: URI schemes of PostgreSQL (as libpq accepts them).
POSTGRES_SCHEMES = ("postgresql", "postgres")
#: Query-string keys that belong to basketlens, not to libpq.
SOURCE_KEYS = ("table", "query")
SINK_KEYS = ("schema",)
#: Environment variables whose values are secrets wherever they appear.
SECRET_ENV = ("PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
#: Shorter secrets are not masked as free text (they would mask ordinary words and digits);
#: they are still masked where a URI or a ``password=`` pair holds them.
MIN_SECRET = 4

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@'\"]*):([^\s@'\"/]*)@")
_PAIR = re.compile(
    r"(?i)\b(password|sslpassword|passwd|pwd|secret|aws_secret_access_key|aws_session_token|"
    r"secret_access_key|session_token)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&,;'\"]+)"
)
_GLOB = re.compile(r"[*?\[]")
#: A table name: schema.table or table; unquoted identifiers or "double quoted" ones.
_IDENT = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
_TABLE = re.compile(rf"^{_IDENT}(?:\.{_IDENT})?$")
_SCHEMA = re.compile(rf"^{_IDENT}$")

_SECRETS: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` (and its percent-encoded form) in everything :func:`redact` sees."""
    if value and len(value) >= MIN_SECRET:
        _SECRETS.update({value, quote(value, safe=""), unquote(value)})


def _known_secrets() -> list[str]:
    found = set(_SECRETS)
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= MIN_SECRET:
            found.add(value)
    return sorted(found, key=len, reverse=True)  # longest first: no partial masking


def redact(text: str) -> str:
    """``text`` with every password and secret key masked as ``***``.

    Masks the password of any ``scheme://user:password@`` URI, ``password=…``-style pairs
    and every secret registered or held in a secret environment variable.

    Example:
        >>> redact("s3 error; aws_secret_access_key=abcd1234 postgres://u:p@h/db")
        's3 error; aws_secret_access_key=*** postgres://u:***@h/db'
    """
    text = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    text = _PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    for secret in _known_secrets():
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's message (and its arguments).

    Example:
        >>> handler = logging.StreamHandler()
        >>> handler.addFilter(RedactingFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def redact_value(value: Any) -> Any:
    """:func:`redact` applied to every string in nested dicts, lists and tuples (run records).

    Example:
        >>> redact_value({"input": {"sales": "postgres://u:pw12@h/db?table=s"}, "k": 3})
        {'input': {'sales': 'postgres://u:***@h/db?table=s'}, 'k': 3}
    """
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def scheme_of(text: str) -> str | None:
    """The URL scheme of ``text`` in lower case (``"s3"``), or None for a local path."""
    match = _SCHEME.match(text.strip())
    return match.group(1).lower() if match else None


def is_remote(text: str | None) -> bool:
    """True for an ``s3://`` or ``postgresql://`` location (anything with a URL scheme)."""
    return isinstance(text, str) and scheme_of(text) is not None


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/key``: one object, a prefix (key ends with ``/``) or a glob pattern."""

    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    label = url

    @property
    def pattern(self) -> bool:
        """The key holds a glob (``*``, ``?``, ``[…]``): it names several objects."""
        return bool(_GLOB.search(self.key))

    @property
    def prefix(self) -> bool:
        """The key names a folder-like prefix (empty or ending with ``/``)."""
        return self.key == "" or self.key.endswith("/")

    @property
    def listing_prefix(self) -> str:
        """The longest key prefix without glob characters (what to list)."""
        match = _GLOB.search(self.key)
        return self.key if match is None else self.key[: match.start()]

    def child(self, name: str) -> S3Location:
        """The location of ``name`` under this one taken as a prefix."""
        base = self.key if self.prefix else self.key + "/"
        return S3Location(self.bucket, base + name)


@dataclass(frozen=True)
class PostgresLocation:
    """A ``postgresql://`` URI split into what libpq reads and what basketlens reads.

    ``conninfo`` is the URI without basketlens' own query keys (``table``, ``query``,
    ``schema``); it may hold a password and is never shown. ``label`` is the URI with its
    password masked (and a long query shortened), for messages and ``run.json``.
    """

    conninfo: str = field(repr=False)
    label: str
    table: str | None = None
    query: str | None = None
    schema: str | None = None

    def select(self) -> str:
        """The SQL that returns the rows: the query, or ``SELECT * FROM <table>``."""
        if self.query is not None:
            return self.query
        if self.table is None:
            raise ParameterError(f"{self.label}: name a table (?table=schema.name) or a query")
        return f"SELECT * FROM {self.table}"

    def with_query(self, query: str) -> PostgresLocation:
        """The same database with ``query`` (from ``--query``) as its rows."""
        return PostgresLocation(self.conninfo, _label(self.conninfo, {"query": query}), None, query)


def _label(conninfo: str, own: dict[str, str]) -> str:
    shown = dict(own)
    if "query" in shown:
        one_line = " ".join(shown["query"].split())
        shown["query"] = one_line if len(one_line) <= 60 else one_line[:57] + "..."
    extra = "&".join(f"{k}={v}" for k, v in shown.items())
    base = redact(conninfo)
    return base + (("&" if "?" in base else "?") + extra if extra else "")


def _split_query(rest: str) -> tuple[str, list[tuple[str, str]]]:
    """``"host/db?a=1&b=2"`` → ``("host/db", [("a", "1"), ("b", "2")])`` (``+`` stays ``+``)."""
    base, _, query = rest.partition("?")
    pairs = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return base, pairs


def _parse_postgres(text: str, *, sink: bool) -> PostgresLocation:
    base, pairs = _split_query(text.strip())
    shown_base = redact(base)
    own: dict[str, str] = {}
    libpq: list[tuple[str, str]] = []
    allowed = SINK_KEYS if sink else SOURCE_KEYS
    for key, value in pairs:
        if key in (*SOURCE_KEYS, *SINK_KEYS):
            if key not in allowed:
                use = "a source (SALES, --items, --customers)" if key in SOURCE_KEYS else "--to-db"
                raise ParameterError(f"{shown_base}: ?{key}= is for {use}, not here")
            if key in own:
                raise ParameterError(f"{shown_base}: ?{key}= given twice")
            if not value.strip():
                raise ParameterError(f"{shown_base}: ?{key}= is empty")
            own[key] = value.strip()
        else:
            libpq.append((key, value))
            if key.lower() in ("password", "sslpassword"):
                register_secret(value)
    match = re.match(r"^[^:/]+://([^@/?]*)@", base)
    if match and ":" in match.group(1):
        register_secret(unquote(match.group(1).split(":", 1)[1]))
    if "table" in own and "query" in own:
        raise ParameterError(f"{shown_base}: give ?table= or ?query=, not both")
    if "table" in own and not _TABLE.match(own["table"]):
        raise ParameterError(
            f"{shown_base}: table {own['table']!r} is not a table name; write schema.table "
            f'(quote names with capitals or spaces: "Sales Lines") or use ?query=SELECT …'
        )
    if "schema" in own and not _SCHEMA.match(own["schema"]):
        raise ParameterError(f"{shown_base}: schema {own['schema']!r} is not a schema name")
    conninfo = base
    if libpq:
        conninfo += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in libpq)
    return PostgresLocation(
        conninfo, _label(conninfo, own), own.get("table"), own.get("query"), own.get("schema")
    )


def _parse_s3(text: str) -> S3Location:
    rest = text.strip()[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,254}", bucket):
        raise ParameterError(f"{text!r}: {bucket!r} is not a bucket name; write s3://bucket/key")
    return S3Location(bucket, key)


def parse_location(text: str, *, sink: bool = False) -> Path | S3Location | PostgresLocation:
    """A local ``Path``, an :class:`S3Location` or a :class:`PostgresLocation`.

    ``sink`` selects the database keys allowed (``?schema=`` for ``--to-db``, else
    ``?table=``/``?query=``). Raises :class:`ParameterError` (with secrets masked) for an
    unsupported scheme or a malformed URI.

    Example:
        >>> parse_location("data/sales.csv")
        PosixPath('data/sales.csv')
        >>> parse_location("s3://acme/in/sales.csv.gz").key
        'in/sales.csv.gz'
    """
    scheme = scheme_of(text)
    if scheme is None:
        return Path(text)
    if scheme == "s3":
        return _parse_s3(text)
    if scheme in POSTGRES_SCHEMES:
        return _parse_postgres(text, sink=sink)
    raise ParameterError(
        f"{redact(text)!r}: unsupported location scheme {scheme!r}; use a local path, "
        "s3://bucket/key or postgresql://user@host/db?table=schema.name"
    )


@dataclass(frozen=True)
class LocationText(Text):
    """A constraint: a local path or a URL of one of ``schemes``, checked before any data is
    read; the error shows the value with its secrets masked.

    Example:
        >>> LocationText(schemes=("s3",)).check("out", "postgresql://u:pw12@h/db")
        Traceback (most recent call last):
        ...
        basketlens.errors.ParameterError: out must be a local path or an s3:// URL; got 'postgresql://u:***@h/db'
    """

    schemes: tuple[str, ...] = ("s3", *POSTGRES_SCHEMES)
    local: bool = True
    sink: bool = False

    def describe(self) -> str:
        kinds = (["a local path"] if self.local else []) + [
            f"{s}://" for s in self.schemes if s != "postgres"
        ]
        text = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
        return text + (" or none" if self.allow_none else "")

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.allow_none:
            return value
        if not isinstance(value, str) or not value.strip():
            raise ParameterError(f"{name} must be a non-empty text; got {redact_value(value)!r}")
        scheme = scheme_of(value)
        if (scheme is None and not self.local) or (
            scheme is not None and scheme not in self.schemes
        ):
            kinds = (["a local path"] if self.local else []) + [
                "an s3:// URL" if s == "s3" else f"a {s}:// URI"
                for s in self.schemes
                if s != "postgres"
            ]
            raise ParameterError(f"{name} must be {' or '.join(kinds)}; got {redact(value)!r}")
        try:
            parse_location(value, sink=self.sink)
        except ParameterError as exc:
            raise ParameterError(f"{name}: {exc}") from None
        return value
