"""Tornado handlers for the InfluxDB 3 HTTP API; they call engine/ only and never import IPython."""

#: ``--max-http-request-size`` default: the largest request body, raw or decompressed.
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
