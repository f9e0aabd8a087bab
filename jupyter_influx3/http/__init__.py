"""Tornado handlers for the InfluxDB 3 HTTP API; they call engine/ only and never import IPython."""
