"""The pure layer: decisions as plain functions over plain data. No I/O, no logging, no metrics.

Import-linter (pyproject.toml) forbids this package from importing aioboto3, botocore,
prometheus_client, structlog or aiohttp.
"""
