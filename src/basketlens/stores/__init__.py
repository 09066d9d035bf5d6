"""Connections to the stores basketlens reads from and writes to: PostgreSQL (ADBC) and
S3-compatible object stores (boto3). Each module turns its driver's errors into one line that
names the location with its secrets masked; the ingest sources and the sinks build on them.

The drivers are optional extras (``pip install 'basketlens[sql]'`` / ``'basketlens[s3]'``); a
location that needs a missing one raises :class:`~basketlens.errors.MissingExtraError`.

Example:
    >>> from basketlens.stores import postgres, s3
    >>> postgres.EXTRA, s3.EXTRA
    ('sql', 's3')
"""
